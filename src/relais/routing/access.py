"""Who may read a delivery: the one rule every professional-facing read path applies.

The rule (product decision, docs/privacy.md "Change of hands"):

    A delivery is readable only by the professional it was made for
    (``Delivery.professional``, the listing's holder with an approved claim when the
    delivery was created), and only while that professional still holds the listing
    with an approved claim — and, as before, only while the delivery is not withdrawn
    (``Delivery.ACCESSIBLE``) and its message not erased.

So when a listing changes hands (the operator rejects the claim, another professional
claims the same listing):

- the new holder never sees anything from before — nothing at all while its claim is
  pending, and once approved only what arrives from then on;
- the previous holder loses access as soon as the listing leaves them (the operator's
  rejection is the tool to revoke a holder), and regains it only if the same listing is
  approved for them again.

The space (inbox, message page and its actions), the owner media, the signed-link page
and its media, the credits checks and the notifications all ask here: nothing else
decides it. Calls follow the same rule in :mod:`relais.calls.access`.
"""

from django.db.models import F, Q

from relais.pros.models import Listing
from relais.voicemail.models import Voicemail

from .models import Delivery


def _made_for(professional) -> Q:
    """Made for this professional, who still holds its listing with an approved claim."""
    return Q(professional=professional) & Listing.held_by(professional)


def readable_deliveries(professional):
    """The deliveries ``professional`` (a Professional, its id, or None) may read.

    None (no professional account) reads nothing.
    """
    if professional is None:
        return Delivery.objects.none()
    return (Delivery.objects.filter(_made_for(professional), status__in=Delivery.ACCESSIBLE)
            .exclude(voicemail__status=Voicemail.Status.ERASED)
            .select_related("voicemail", "listing"))


def may_read(delivery: Delivery, professional) -> bool:
    """Whether ``professional`` may read this delivery now (asks the database: the
    listing may have changed hands since ``delivery`` was loaded)."""
    return readable_deliveries(professional).filter(pk=delivery.pk).exists()


def readable_by_their_professional(delivery_ids) -> set:
    """Of ``delivery_ids``, those the professional each was made for may still read
    (:func:`may_read` for a batch of notifications, in one query)."""
    return set(
        Delivery.objects.filter(Listing.held_by(F("professional")), pk__in=list(delivery_ids),
                                status__in=Delivery.ACCESSIBLE)
        .exclude(voicemail__status=Voicemail.Status.ERASED)
        .values_list("pk", flat=True))


def addressed_to(delivery: Delivery, professional) -> bool:
    """The ownership half of :func:`may_read`, for callers that tell "not yours" apart
    from "withdrawn" or "erased" (the unlock's refusals): made for ``professional``, who
    still holds the listing with an approved claim, whatever the delivery's status."""
    if professional is None:
        return False
    return Delivery.objects.filter(_made_for(professional), pk=delivery.pk).exists()
