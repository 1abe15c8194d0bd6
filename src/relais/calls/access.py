"""Who may see a call in the call log: the one rule the call log applies.

The rule (product decision, docs/privacy.md "Change of hands"), the same as for
deliveries (:mod:`relais.routing.access`):

    A call is readable only by the professional who held the listing with an approved
    claim when the call came in (``Call.professional``), and only while that
    professional still holds the listing with an approved claim.

A listing's new holder never sees the calls of a previous holder (nor any call while its
claim is pending); a holder who loses the listing loses its calls, and sees them again
only if the same listing is approved for them again.
"""

from relais.pros.models import Listing

from .models import Call


def readable_calls(professional):
    """The calls ``professional`` (a Professional, its id, or None) may see."""
    if professional is None:
        return Call.objects.none()
    return Call.objects.filter(professional=professional, listing__professional=professional,
                               listing__status=Listing.Status.APPROVED)
