"""Who may see a call in the call log: the one rule the call log applies.

The rule (product decision, docs/privacy.md "Change of hands"), the same as for
deliveries (:mod:`relais.routing.access`):

    A call is readable only by the professional who held the listing with an approved
    claim when the call came in (``Call.professional``), and only while that
    professional still holds the listing with an approved claim.

A listing's new holder never sees the calls of a previous holder (nor any call while its
claim is pending); a holder who loses the listing loses its calls, and sees them again
only if the same listing is approved for them again.

The call log reads through here too: :func:`call_log` (the calls, newest first) and
:func:`call_log_rows` (one page's rows, the caller's number formatted, each number shown
audited) — the space's page only renders them.
"""

from relais.core import audit
from relais.core.phones import format_fr
from relais.pros.models import Listing

from .models import Call


def readable_calls(professional):
    """The calls ``professional`` (a Professional, its id, or None) may see."""
    if professional is None:
        return Call.objects.none()
    return Call.objects.filter(Listing.held_by(professional), professional=professional)


def call_log(professional):
    """The calls ``professional`` may see (:func:`readable_calls`), newest first."""
    return (readable_calls(professional)
            .select_related("listing__establishment", "voicemail")
            .order_by("-started_at"))


def call_log_rows(calls, user) -> list[dict]:
    """The rows of one page of :func:`call_log` read by ``user``: ``call``, ``caller``
    (French format, None when hidden) and ``voicemail``; one audit row per caller's number
    shown (``detail={"via": "call_log", "call": …}``)."""
    rows = [
        {
            "call": call,
            "caller": format_fr(call.caller_e164) if call.caller_e164 else None,
            "voicemail": getattr(call, "voicemail", None),
        }
        for call in calls
    ]
    for row in rows:
        if row["caller"]:
            call = row["call"]
            audit.record(actor=audit.Actor.professional(user, call.listing),
                         action=audit.READ_CALLER_NUMBER, voicemail=row["voicemail"],
                         detail={"via": "call_log", "call": call.pk})
    return rows
