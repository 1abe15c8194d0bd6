"""The professional's space: what a logged-in professional sees, and the audit of it.

Plain functions the views (:mod:`relais.space.views`) call:

- :func:`inbox` — the deliveries the professional may read (own messages and shared
  requests; :func:`relais.routing.access.readable_deliveries` decides which), newest
  first, optionally only new or only handled ones;
- :func:`delivery_of` — one delivery the professional may read (``Http404`` otherwise: a
  professional can never open someone else's message, nor one made for a previous
  holder of its listing);
- :func:`read_message` — the content of one message page, writing one audit row per
  personal datum shown (transcript, redacted text, caller number);
- :func:`mark_handled` — new ↔ handled;
- :func:`ledger_page_data` — the credits page: balance, ledger, the pack on offer;
- :func:`call_log` — the calls received on the professional's listings, one audit row per
  caller's number shown.

The called professional sees its own message in full (recording, transcript, caller's
number); a shared request shows only the redacted text and the bleeped extract, and the
caller's number only once unlocked (:mod:`relais.credits`).
"""

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.http import Http404
from django.utils import timezone

from relais.calls.access import readable_calls
from relais.core import audit
from relais.core.phones import format_fr
from relais.credits import services as credits
from relais.credits import stripe_checkout
from relais.credits.models import Unlock
from relais.pros.models import Professional
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


def _opened(delivery: Delivery) -> None:
    Delivery.objects.filter(pk=delivery.pk, first_opened_at__isnull=True).update(
        first_opened_at=timezone.now())


def read_message(delivery: Delivery, user) -> dict:
    """The personal data one message page shows, each read audited (via the space)."""
    vm = delivery.voicemail
    actor = audit.Actor.professional(user, delivery.listing)
    detail = {"via": "space"}
    _opened(delivery)
    data = {"is_own": delivery.is_own, "caller_number": "", "caller_e164": "",
            "has_audio": False, "audio_which": "", "unlock": None, "unlock_error": ""}
    if delivery.is_own:
        data.update(transcript=vm.transcript, has_audio=bool(vm.audio), audio_which="audio")
        if vm.transcript:
            audit.record(actor=actor, action=audit.READ_TRANSCRIPT, delivery=delivery,
                         voicemail=vm, detail=detail)
        if vm.caller_e164:
            data.update(caller_number=format_fr(vm.caller_e164), caller_e164=vm.caller_e164)
            audit.record(actor=actor, action=audit.READ_CALLER_NUMBER, delivery=delivery,
                         voicemail=vm, detail=detail)
        return data
    data.update(redacted_text=vm.redacted_text, has_audio=bool(vm.extract),
                audio_which="extract")
    if vm.redacted_text:
        audit.record(actor=actor, action=audit.READ_REDACTED, delivery=delivery, voicemail=vm,
                     detail=detail)
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




def calls_of(professional):
    """The calls the professional may see (relais.calls.access), newest first."""
    return (readable_calls(professional)
            .select_related("listing__establishment", "voicemail")
            .order_by("-started_at"))


def call_log(calls, user) -> list[dict]:
    """The rows of one page of the call log; one audit row per caller's number shown."""
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
