"""The professional's space: what a logged-in professional sees, and the audit of it.

Plain functions the views (:mod:`relais.space.views`) call:

- :func:`inbox` — the deliveries the professional may read (own messages and shared
  requests; :func:`relais.routing.access.readable_deliveries` decides which), newest
  first, optionally only new or only handled ones;
- :func:`delivery_of` — one delivery the professional may read (``Http404`` otherwise: a
  professional can never open someone else's message, nor one made for a previous
  holder of its listing);
- :func:`read_message` — the content of one message page
  (:func:`relais.routing.reads.read_delivery`, plus a shared request's unlock), writing
  one audit row per personal datum shown (transcript, redacted text, caller number);
- :func:`mark_handled` — new ↔ handled;
- :func:`ledger_page_data` — the credits page: balance, ledger, the pack on offer.

The call log's rows (and the audit of the callers' numbers they show) are
:mod:`relais.calls.access`'s; what a delivery shows, :mod:`relais.routing.reads`'s.

The called professional sees its own message in full (recording, transcript, caller's
number); a shared request shows only the redacted text and the bleeped extract, and the
caller's number only once unlocked (:mod:`relais.credits`).
"""

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.http import Http404
from django.utils import timezone

from relais.callbacks import services as callbacks
from relais.core import audit
from relais.core.phones import format_fr
from relais.credits import services as credits
from relais.credits import stripe_checkout
from relais.credits.models import Unlock
from relais.pros.models import Professional
from relais.routing import reads
from relais.routing.access import readable_deliveries
from relais.routing.models import Delivery

NEW, HANDLED = "nouveaux", "traites"
FILTERS = {NEW: "Nouveaux", HANDLED: "Traités"}


def professional_of(user) -> Professional | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Professional.objects.filter(user=user).first()


def inbox(professional, which: str = ""):
    """The professional's deliveries, newest first; ``which`` is ``NEW``, ``HANDLED`` or ''."""
    qs = readable_deliveries(professional).select_related(
        "voicemail__metier", "listing__establishment").order_by("-created_at", "rank")
    qs = qs.annotate(unlocked=Exists(Unlock.objects.filter(delivery=OuterRef("pk"),
                                                           refunded_at__isnull=True)))
    if which == NEW:
        qs = qs.filter(handled_at__isnull=True)
    elif which == HANDLED:
        qs = qs.filter(handled_at__isnull=False)
    return qs


def counts(professional) -> dict:
    qs = readable_deliveries(professional)
    return {"all": qs.count(), NEW: qs.filter(handled_at__isnull=True).count(),
            HANDLED: qs.filter(handled_at__isnull=False).count()}


def delivery_of(professional, delivery_id) -> Delivery:
    """One delivery the professional may read now, or 404."""
    if professional is None:
        raise Http404("pas de compte professionnel")
    delivery = inbox(professional).filter(pk=delivery_id).first()
    if delivery is None:
        raise Http404("message introuvable")
    return delivery


def mark_handled(delivery: Delivery, handled: bool) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        handled_at=timezone.now() if handled else None)
    delivery.handled_at = timezone.now() if handled else None


def read_message(delivery: Delivery, user) -> dict:
    """The personal data one message page shows, each read audited (via the space).

    What the delivery shows is :func:`relais.routing.reads.read_delivery` (the signed-link
    page reads through it too); a shared request adds its unlock, and the caller's number
    once unlocked (:func:`relais.credits.services.reveal`, audited via ``unlock``).
    """
    actor = audit.Actor.professional(user, delivery.listing)
    data = {**reads.read_delivery(delivery, actor, via="space"),
            "unlock": None, "unlock_error": "", "reveal": credits.reveal_enabled(),
            "card": callbacks.lead_card(delivery),
            "callbacks": callbacks.callbacks_of(delivery, delivery.professional_id)}
    if delivery.is_own or not data["reveal"]:
        return data
    status = credits.unlock_status(delivery)
    data["unlock"] = status
    if status.unlock is not None:
        try:
            e164 = credits.reveal(status.unlock, actor)
        except credits.UnlockRefused as refused:
            data["unlock_error"] = refused.message
        else:
            data.update(caller_number=format_fr(e164), caller_e164=e164)
    return data


def purchase_offer() -> dict | None:
    """The Stripe pack on offer, or None when buying online is not enabled."""
    if not stripe_checkout.enabled():
        return None
    return {"credits": settings.RELAIS_CREDIT_PACK_CREDITS,
            "price": f"{settings.RELAIS_CREDIT_PACK_PRICE_CENTS / 100:.2f}".replace(".", ","),
            "max": stripe_checkout.MAX_PACKS}


def ledger_page_data(professional) -> dict:
    return {"balance": credits.balance(professional) if professional else 0,
            "entries": (credits.history(professional).select_related("unlock")
                        if professional else []),
            "cost": credits.cost(), "cap": credits.cap(), "purchase": purchase_offer()}
