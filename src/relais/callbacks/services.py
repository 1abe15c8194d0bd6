"""Call-backs through Relais: the rules, in plain functions the views and webhooks call.

- :func:`start` — the professional asks Relais to call the caller back: checked, then the
  provider calls the professional's forward number (:class:`CallbackRefused` otherwise,
  with a French message, nothing placed, nothing charged);
- :func:`pro_picked_up` — the professional's phone answered: the whisper and a
  <Gather>; nothing is dialled unless they press 1 (a voicemail greeting presses nothing);
- :func:`pro_answered` — the professional pressed 1: still allowed? (the caller may have
  withdrawn or refused meanwhile) then the numbers to dial (the caller's number is read
  here, audited, and goes to the provider only);
- :func:`caller_accepted` — the caller pressed 1: the bridge starts (no key: no bridge,
  no charge);
- :func:`caller_refused` — the caller pressed 9: no more call-backs for this message,
  and the charges of this message are returned;
- :func:`bridge_ended` — the <Dial> ended: the charge, once per professional and message,
  only for a bridge (the caller's 1; DialBridged when sent) of at least
  ``RELAIS_CALLBACK_MIN_SECONDS`` of conversation, the whisper not counted;
- :func:`pro_leg_ended` — the provider's status callback for the professional's leg;
- :func:`lead_card` — "why this lead", shown before anything is spent.

Who may call back is :mod:`relais.routing.access`'s rule (the professional a delivery
was made for, while they hold the listing, the delivery not withdrawn, the message not
erased). The caller's withdrawal (privacy, above) revokes shared deliveries and refunds
their charges: a withdrawn request can no longer be called back. Nothing is possible
after the retention period of the metadata (the caller's number is purged then).
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from relais.calls import providers
from relais.calls.models import TrackingNumber
from relais.core import audit
from relais.credits import services as credits
from relais.credits.models import CreditEntry, Unlock
from relais.pros.models import Professional
from relais.routing import access
from relais.routing.models import Delivery
from relais.voicemail.models import Voicemail

from . import returns
from .models import Callback, CallbackRefusal

logger = logging.getLogger(__name__)

STARTED = "callback.started"
CHARGED = "callback.charged"
REFUSED_BY_CALLER = "callback.refused"


class CallbackRefused(Exception):
    """A call-back cannot be placed; the message is French, for the professional."""

    def __init__(self, message: str, code: str = "refused"):
        super().__init__(message)
        self.message = message
        self.code = code


def min_seconds() -> int:
    return settings.RELAIS_CALLBACK_MIN_SECONDS


def max_per_day() -> int:
    return settings.RELAIS_CALLBACK_MAX_PER_DAY


def webhook_url(name: str, callback: Callback) -> str:
    return settings.RELAIS_PUBLIC_URL + reverse(f"callbacks:{name}", args=[callback.pk])


def _professional_of(user) -> Professional | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Professional.objects.filter(user=user).first()


def _retention_over(vm: Voicemail) -> bool:
    limit = timedelta(days=settings.RELAIS_RETENTION_METADATA_DAYS)
    return vm.created_at < timezone.now() - limit


def _why_not(delivery: Delivery, professional_id) -> CallbackRefused | None:
    """Why the caller of this delivery may not be called back now (None: they may)."""
    vm = Voicemail.objects.filter(pk=delivery.voicemail_id).first()
    if vm is None or vm.status == Voicemail.Status.ERASED:
        return CallbackRefused("Ce message a été effacé : il ne peut plus être rappelé.",
                               "erased")
    if not access.may_read(delivery, professional_id):
        return CallbackRefused("L'appelant a retiré cette demande : elle ne peut plus être "
                               "rappelée.", "withdrawn")
    if CallbackRefusal.objects.filter(voicemail_id=vm.pk).exists():
        return CallbackRefused("La personne a refusé d'être rappelée pour ce message.",
                               "caller_refused")
    if _retention_over(vm) or not vm.caller_e164:
        return CallbackRefused("Le numéro de la personne n'est plus conservé (numéro masqué "
                               "ou durée de conservation écoulée) : le rappel est "
                               "impossible.", "no_number")
    return None


def _paid(voicemail_id, professional_id) -> Unlock | None:
    return Unlock.objects.filter(voicemail_id=voicemail_id, professional_id=professional_id,
                                 refunded_at__isnull=True).first()


CONNECTING_FOR = timedelta(hours=2)  # a call-back dialling the caller longer is stale


def cap_reached(delivery: Delivery, professional_id) -> int | None:
    """How many professionals hold or are connecting to this shared message, if that
    reaches the cap for this unpaid professional (None: not reached, or their own message,
    or paid already). The caller locks the voicemail row (``select_for_update``)."""
    if delivery.kind != Delivery.Kind.SHARED or _paid(delivery.voicemail_id,
                                                      professional_id) is not None:
        return None
    paid = set(Unlock.objects.filter(voicemail_id=delivery.voicemail_id,
                                     refunded_at__isnull=True)
               .values_list("professional_id", flat=True))
    connecting = set(Callback.objects.filter(
        voicemail_id=delivery.voicemail_id, status=Callback.Status.CALLING_CALLER,
        created_at__gt=timezone.now() - CONNECTING_FOR)
        .exclude(professional_id=professional_id)
        .values_list("professional_id", flat=True)) - paid
    taken = len(paid) + len(connecting)
    return taken if taken >= credits.cap() else None


def attempts_today(voicemail_id, professional_id) -> int:
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return Callback.objects.filter(voicemail_id=voicemail_id, professional_id=professional_id,
                                   created_at__gte=start).count()


def tracking_number_of(listing) -> str:
    row = TrackingNumber.objects.filter(listing=listing).first()
    return row.e164 if row else ""


def start(delivery: Delivery, user) -> Callback:
    """``user``'s professional asks Relais to call this delivery's caller back."""
    professional = _professional_of(user)
    if not access.addressed_to(delivery, professional):
        raise CallbackRefused("Cette demande ne vous est pas adressée.", "not_yours")
    problem = _why_not(delivery, professional.pk)
    if problem is not None:
        raise problem
    listing = delivery.listing
    forward, tracking = listing.forward_number, tracking_number_of(listing)
    if not forward or not tracking:
        raise CallbackRefused("Votre fiche n'a pas de numéro de renvoi ou de numéro de suivi : "
                              "Relais ne peut pas vous appeler.", "no_forward")
    with transaction.atomic():
        # The voicemail first, then the professional (as _charge does): no deadlock.
        Voicemail.objects.select_for_update().filter(pk=delivery.voicemail_id).first()
        Professional.objects.select_for_update().filter(pk=professional.pk).first()
        mine = Callback.objects.filter(voicemail_id=delivery.voicemail_id,
                                       professional=professional)
        if any(cb.in_progress and cb.created_at > timezone.now() - timedelta(minutes=10)
               for cb in mine.exclude(status__in=Callback.FINAL)):
            raise CallbackRefused("Un rappel de cette personne est déjà en cours.", "busy")
        if attempts_today(delivery.voicemail_id, professional.pk) >= max_per_day():
            raise CallbackRefused(
                f"Vous avez déjà tenté {max_per_day()} rappels de cette personne aujourd'hui : "
                "réessayez demain.", "too_many")
        if delivery.kind == Delivery.Kind.SHARED and _paid(delivery.voicemail_id,
                                                           professional.pk) is None:
            if Unlock.objects.filter(voicemail_id=delivery.voicemail_id,
                                     professional=professional).exists():
                raise CallbackRefused("Vos crédits pour cette demande ont été rendus : elle "
                                      "n'est plus disponible.", "refunded")
            returned = returns.reason_for(delivery.voicemail_id, professional.pk)
            if returned:
                raise CallbackRefused(f"Cette demande ne peut plus être facturée : {returned}",
                                      "returned")
            # Paid professionals and other professionals' call-backs dialling the caller
            # now: concurrent call-backs never exceed the cap.
            taken = cap_reached(delivery, professional.pk)
            if taken is not None:
                raise CallbackRefused(
                    f"{taken} professionnels ont déjà été mis en relation avec cette personne, "
                    "le maximum : la demande n'est plus proposée.", "cap")
            # Credits promised to call-backs still in progress on other unpaid requests
            # count as spent: two at once never overdraw the balance.
            # A call still ringing the professional for 10 minutes is stale; one dialling
            # or bridged to the caller counts however long it lasts.
            now = timezone.now()
            live = (Q(status=Callback.Status.CALLING_PRO,
                      created_at__gt=now - timedelta(minutes=10))
                    | Q(status=Callback.Status.CALLING_CALLER,
                        created_at__gt=now - CONNECTING_FOR))
            pending = sum(1 for vm_id in Callback.objects.filter(
                live, professional=professional, unlock__isnull=True,
                delivery__kind=Delivery.Kind.SHARED)
                .exclude(voicemail_id=delivery.voicemail_id)
                .values_list("voicemail_id", flat=True).distinct()
                if _paid(vm_id, professional.pk) is None)
            available = credits.balance(professional) - pending * credits.cost()
            if available < credits.cost():
                raise CallbackRefused(
                    f"Crédits insuffisants : une mise en relation réussie coûte "
                    f"{credits.cost()} crédit(s), votre solde disponible est de "
                    f"{max(0, available)}.", "balance")
        cb = Callback.objects.create(
            delivery=delivery, voicemail_id=delivery.voicemail_id, professional=professional,
            listing_name=str(listing.establishment.name)[:255])
        audit.record(actor=audit.Actor.professional(user, listing), action=STARTED,
                     voicemail=delivery.voicemail, delivery=delivery,
                     detail={"callback": str(cb.pk)})
    call = providers.OutboundCall(to=forward, from_=tracking, url=webhook_url("pro", cb),
                                  status_callback=webhook_url("status", cb))
    try:
        sid = providers.outbound().place_call(call)
    except providers.CallFailed as exc:
        logger.warning("call-back %s: the provider did not place the call: %s", cb.pk, exc)
        Callback.objects.filter(pk=cb.pk).update(status=Callback.Status.FAILED,
                                                 error=str(exc)[:255], ended_at=timezone.now())
        raise CallbackRefused("L'appel n'a pas pu être passé ; rien ne vous a été débité. "
                              "Réessayez dans quelques minutes.", "provider") from exc
    # The local provider may already have played the whole call: keep its state.
    Callback.objects.filter(pk=cb.pk, pro_call_sid__isnull=True).update(pro_call_sid=sid)
    cb.refresh_from_db()
    return cb


# --- During the call (the webhooks) -----------------------------------------------------

class UnknownCallback(Exception):
    """No call-back with this id and CallSid."""


def _callback(callback_id, call_sid: str, *, lock: bool = False) -> Callback:
    qs = Callback.objects.select_for_update() if lock else Callback.objects
    cb = qs.filter(pk=callback_id).first()
    if cb is None:
        raise UnknownCallback(str(callback_id))
    if cb.pro_call_sid is None:  # answered before place_call() returned (local provider)
        Callback.objects.filter(pk=cb.pk, pro_call_sid__isnull=True).update(
            pro_call_sid=call_sid)
        cb.pro_call_sid = call_sid
    if cb.pro_call_sid != call_sid:
        raise UnknownCallback(f"{callback_id}: another call")
    return cb


@dataclass(frozen=True)
class Bridge:
    """What the professional's leg does once answered."""

    allowed: bool
    caller_e164: str = ""
    caller_id: str = ""  # the tracking number shown to the caller
    metier: str = ""
    day: str = ""
    name: str = ""


def _day(vm: Voicemail) -> str:
    months = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
              "septembre", "octobre", "novembre", "décembre"]
    at = timezone.localtime(vm.created_at)
    return f"{at.day} {months[at.month - 1]}"


def _stop_if_not_allowed(cb: Callback) -> Delivery | None:
    """The delivery if the call-back may go on; else the call-back is stopped (None)."""
    d = (Delivery.objects.select_related("voicemail__metier", "listing")
         .filter(pk=cb.delivery_id).first())
    problem = _why_not(d, cb.professional_id) if d else CallbackRefused("gone", "gone")
    if problem is not None:
        cb.status, cb.error, cb.ended_at = Callback.Status.STOPPED, problem.code, \
            timezone.now()
        cb.save(update_fields=["status", "error", "ended_at"])
        return None
    return d


def pro_picked_up(callback_id, call_sid: str) -> tuple[Callback, Bridge]:
    """The professional's phone answered (maybe a voicemail greeting): the whisper and
    its <Gather> only; the caller's number is neither read nor dialled before their 1."""
    with transaction.atomic():
        cb = _callback(callback_id, call_sid, lock=True)
        if not cb.in_progress:
            return cb, Bridge(False)
        d = _stop_if_not_allowed(cb)
        if d is None:
            return cb, Bridge(False)
        vm = d.voicemail
        return cb, Bridge(True, metier=vm.metier.label if vm.metier_id else "", day=_day(vm))


def pro_answered(callback_id, call_sid: str) -> tuple[Callback, Bridge]:
    """The professional pressed 1 after the whisper: the numbers to dial."""
    with transaction.atomic():
        cb = _callback(callback_id, call_sid, lock=True)
        if cb.status != Callback.Status.CALLING_PRO:
            return cb, Bridge(False)  # ended, or already dialling (a replayed key)
        d = _stop_if_not_allowed(cb)
        if d is None:
            return cb, Bridge(False)
        Voicemail.objects.select_for_update().filter(pk=d.voicemail_id).first()
        if cap_reached(d, cb.professional_id) is not None:
            cb.status, cb.error, cb.ended_at = Callback.Status.STOPPED, "cap", timezone.now()
            cb.save(update_fields=["status", "error", "ended_at"])
            return cb, Bridge(False)
        cb.status, cb.answered_at = Callback.Status.CALLING_CALLER, timezone.now()
        cb.save(update_fields=["status", "answered_at"])
        vm = d.voicemail
        audit.record(actor=audit.Actor.system("callbacks"), action=audit.READ_CALLER_NUMBER,
                     voicemail=vm, delivery=d, detail={"via": "callback",
                                                       "callback": str(cb.pk)})
        metier = vm.metier.label if vm.metier_id else ""
        return cb, Bridge(True, vm.caller_e164, tracking_number_of(d.listing_id), metier,
                          _day(vm), cb.listing_name)


def caller_whisper(callback_id, parent_sid: str) -> tuple[Callback, Bridge]:
    cb = _callback(callback_id, parent_sid)
    if cb.caller_answered_at is None and cb.in_progress:
        Callback.objects.filter(pk=cb.pk, caller_answered_at__isnull=True).update(
            caller_answered_at=timezone.now())
    vm = Voicemail.objects.filter(pk=cb.voicemail_id).first()
    if vm is None:
        return cb, Bridge(False)
    return cb, Bridge(cb.in_progress, day=_day(vm), name=cb.listing_name)


def caller_accepted(callback_id, parent_sid: str) -> Callback:
    """The caller pressed 1 during their whisper: the bridge starts now."""
    with transaction.atomic():
        cb = _callback(callback_id, parent_sid, lock=True)
        if cb.status == Callback.Status.CALLING_CALLER and cb.bridged_at is None:
            cb.bridged_at = timezone.now()
            cb.save(update_fields=["bridged_at"])
    return cb


def caller_refused(callback_id, parent_sid: str) -> Callback:
    """The caller pressed 9: no call-back for this message any more; charges returned."""
    with transaction.atomic():
        cb = _callback(callback_id, parent_sid, lock=True)
        if cb.voicemail_id:
            CallbackRefusal.objects.get_or_create(voicemail_id=cb.voicemail_id,
                                                  defaults={"callback": cb})
        cb.status, cb.ended_at = Callback.Status.REFUSED, timezone.now()
        cb.save(update_fields=["status", "ended_at"])
        vm = Voicemail.objects.filter(pk=cb.voicemail_id).first()
        if vm is not None:
            audit.record(actor=audit.Actor.caller(), action=REFUSED_BY_CALLER, voicemail=vm,
                         detail={"callback": str(cb.pk)})
            credits.refund_unshown(vm, reason=REASON_REFUSED,
                                   actor=audit.Actor.system("callbacks"))
    return cb


REASON_REFUSED = returns.REASON_REFUSED


def bridged_seconds(cb: Callback, dial_seconds: int | None) -> int:
    """The conversation's length: DialCallDuration (from the caller's answer) minus the
    whisper, i.e. the time between the caller's answer and their 1."""
    whisper = 0
    if cb.bridged_at and cb.caller_answered_at:
        whisper = max(0, round((cb.bridged_at - cb.caller_answered_at).total_seconds()))
    return max(0, (dial_seconds or 0) - whisper)


def bridge_ended(callback_id, call_sid: str, dial_status: str,
                 seconds: int | None, bridged: bool | None = None) -> Callback:
    """The <Dial> to the caller ended: settle the call-back, charge it if it counts.
    ``bridged`` is the provider's DialBridged when it sends it (False: never bridged)."""
    with transaction.atomic():
        cb = _callback(callback_id, call_sid, lock=True)
        if not cb.in_progress:
            return cb  # replayed, refused by the caller, or stopped: nothing more
        cb.ended_at = timezone.now()
        if dial_status in ("completed", "answered") and (cb.bridged_at is None
                                                         or bridged is False):
            cb.status = Callback.Status.CALLER_NO_ANSWER  # no 1 pressed: never bridged
        elif dial_status in ("completed", "answered"):
            cb.bridge_seconds = bridged_seconds(cb, seconds)
            if cb.bridge_seconds >= min_seconds():
                cb.status = Callback.Status.COMPLETED
                _charge(cb)
            else:
                cb.status = Callback.Status.TOO_SHORT
        elif dial_status == "busy":
            cb.status = Callback.Status.CALLER_BUSY
        elif dial_status == "no-answer":
            cb.status = Callback.Status.CALLER_NO_ANSWER
        else:
            cb.status = Callback.Status.FAILED
            cb.error = dial_status
        cb.save()
    return cb


def _charge(cb: Callback) -> None:
    """Once per professional and message, a shared request only, within the cap."""
    d = Delivery.objects.select_related("listing__establishment").filter(
        pk=cb.delivery_id).first()
    if d is None or d.kind == Delivery.Kind.OWN or cb.voicemail_id is None:
        return  # their own caller: always free
    vm = Voicemail.objects.select_for_update().filter(pk=cb.voicemail_id).first()
    Professional.objects.select_for_update().filter(pk=cb.professional_id).first()
    if vm is None or Unlock.objects.filter(voicemail=vm,
                                           professional_id=cb.professional_id).exists():
        return  # paid already (or returned: never charged again)
    if returns.reason_for(vm, cb.professional_id):
        cb.error = "returned"  # it would be returned at once: never taken
        return
    taken = Unlock.objects.filter(voicemail=vm, refunded_at__isnull=True).count()
    if taken >= credits.cap():
        cb.error = "cap"
        return
    price = credits.cost()
    item = Unlock.objects.create(
        delivery=d, voicemail=vm, voicemail_reference=vm.reference,
        professional_id=cb.professional_id, listing_name=cb.listing_name, cost=price)
    if price:
        at = timezone.localtime(cb.answered_at or cb.created_at)
        CreditEntry.objects.create(
            professional_id=cb.professional_id, amount=-price, kind=CreditEntry.Kind.CALLBACK,
            unlock=item, note=(f"Rappel via Relais du {at:%d/%m/%Y %H:%M}, "
                               f"{cb.bridge_seconds} s de conversation")[:255])
    cb.unlock, cb.charged_credits = item, price
    audit.record(actor=audit.Actor.system("callbacks"), action=CHARGED, voicemail=vm,
                 delivery=d, detail={"callback": str(cb.pk), "cost": price,
                                     "seconds": cb.bridge_seconds, "rank": taken + 1})


def pro_leg_ended(callback_id, call_sid: str, call_status: str) -> Callback:
    """The status callback of the professional's leg (the whole call-back is over)."""
    with transaction.atomic():
        cb = _callback(callback_id, call_sid, lock=True)
        if cb.in_progress:
            cb.status = {"busy": Callback.Status.PRO_NO_ANSWER,
                         "no-answer": Callback.Status.PRO_NO_ANSWER,
                         "canceled": Callback.Status.PRO_NO_ANSWER,
                         }.get(call_status, Callback.Status.FAILED)
            if call_status == "completed":
                # Picked up but never pressed 1 (an answering machine): nothing dialled;
                # pressed 1 then hung up before the bridge: the caller was not reached.
                cb.status = (Callback.Status.CALLER_NO_ANSWER if cb.answered_at
                             else Callback.Status.PRO_NO_ANSWER)
            cb.error = cb.error or (call_status if cb.status == Callback.Status.FAILED else "")
            cb.ended_at = timezone.now()
            cb.save(update_fields=["status", "error", "ended_at"])
    return cb


# --- What the professional reads --------------------------------------------------------

def callbacks_of(delivery: Delivery, professional) -> list[Callback]:
    return list(Callback.objects.filter(voicemail_id=delivery.voicemail_id,
                                        professional=professional)[:10])


@dataclass(frozen=True)
class LeadCard:
    """Why this lead: what a professional knows before spending anything."""

    summary: str
    metier: str
    confidence: int | None  # percent
    distance_km: float | None
    recipients: int
    connected: int
    cost: int
    paid: bool
    own: bool
    balance: int
    cap: int
    can_call: bool
    refusal: str
    min_seconds: int


def lead_card(delivery: Delivery) -> LeadCard:
    """The card shown before a call-back (the summary is the redacted text only)."""
    vm = delivery.voicemail
    professional_id = delivery.professional_id
    recipients = Delivery.objects.filter(voicemail_id=vm.pk,
                                         status__in=Delivery.ACCESSIBLE).count()
    connected = Unlock.objects.filter(voicemail_id=vm.pk, refunded_at__isnull=True).count()
    paid = _paid(vm.pk, professional_id) is not None
    own = delivery.kind == Delivery.Kind.OWN
    balance = credits.balance(professional_id) if professional_id else 0
    problem = _why_not(delivery, professional_id) if professional_id else None
    refusal = problem.message if problem else ""
    if not refusal and not own and not paid:
        returned = returns.reason_for(vm, professional_id)
        if returned:
            refusal = f"Cette demande ne peut plus être facturée : {returned}"
        elif connected >= credits.cap():
            refusal = "Le maximum de professionnels mis en relation est atteint."
        elif balance < credits.cost():
            refusal = "Crédits insuffisants pour une mise en relation."
    confidence = round(vm.confidence * 100) if vm.confidence is not None else None
    return LeadCard(
        summary=vm.redacted_text, metier=vm.metier.label if vm.metier_id else "",
        confidence=confidence, distance_km=delivery.distance_km, recipients=recipients,
        connected=connected, cost=0 if own or paid else credits.cost(), paid=paid, own=own,
        balance=balance, cap=credits.cap(), can_call=not refusal, refusal=refusal,
        min_seconds=min_seconds())
