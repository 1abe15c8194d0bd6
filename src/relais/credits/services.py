"""Credits and unlocks: the functions views, the admin and other apps call.

- :func:`balance` — a professional's credits, the sum of its ledger entries;
- :func:`grant` — the operator gives credits; :func:`purchase` — credits bought (Stripe);
- :func:`unlock` — pay to see the caller's number of one shared request (fair rules below),
  only when the operator enables it (``RELAIS_REVEAL_NUMBERS``, off by default: a
  professional calls back through Relais instead, :mod:`relais.callbacks`, whose charge is
  an unlock that never shows the number);
- :func:`reveal` — the number is displayed: first display time kept, every read audited;
- :func:`refund_unshown` — the caller withdrew: unlocks whose number was never shown are
  refunded;
- :func:`unlocks_for` — who unlocked a message's number and when (the caller's page);
- :func:`unlock_status` — what the unlock button shows (cost, balance, slots left).

The fair unlock rules: only shared requests (the called professional always has its own
caller's number, free); at most ``RELAIS_UNLOCK_CAP`` professionals per message; once per
professional; only by the professional the request was made for, while they hold its
listing (:mod:`relais.routing.access`); only while the delivery is accessible and the
message not erased; never without enough credits. The cap and the balance are checked
inside one transaction that locks the message's row, then the professional's row (always
in this order): two unlocks racing for the last slot, or for the last credit, serialise
and the second is refused.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from relais.core import audit
from relais.pros.models import Professional
from relais.routing import access
from relais.routing.models import Delivery
from relais.voicemail.models import Voicemail

from .models import CreditEntry, Unlock

logger = logging.getLogger(__name__)

# Audit actions of this app (relais.core.audit holds the read actions).
UNLOCKED = "unlock.created"
UNLOCK_REFUNDED = "unlock.refunded"


class UnlockRefused(Exception):
    """An unlock (or reveal) was refused; the message is French, for the professional."""

    def __init__(self, message: str, code: str = "refused"):
        super().__init__(message)
        self.message = message
        self.code = code


class AlreadyUnlocked(UnlockRefused):
    """This professional already unlocked this message: nothing is charged again."""

    def __init__(self, existing: Unlock):
        super().__init__("Vous avez déjà débloqué ce numéro : rien n'a été débité une "
                         "seconde fois.", "already_unlocked")
        self.unlock = existing


def reveal_enabled() -> bool:
    """Whether the operator lets professionals see a shared request's caller number
    (``RELAIS_REVEAL_NUMBERS``, off by default: they call back through Relais)."""
    return bool(settings.RELAIS_REVEAL_NUMBERS)


REVEAL_OFF = ("Les numéros des appelants ne sont pas communiqués : rappelez la personne "
              "via Relais, vous ne payez que si la mise en relation a lieu.")


def cap() -> int:
    return settings.RELAIS_UNLOCK_CAP


def cost() -> int:
    return settings.RELAIS_UNLOCK_COST


def balance(professional) -> int:
    """The professional's credits: the sum of its ledger entries (0 without any)."""
    total = CreditEntry.objects.filter(professional=professional).aggregate(s=Sum("amount"))
    return total["s"] or 0


def history(professional):
    """The professional's ledger entries, newest first (with their unlocks)."""
    return CreditEntry.objects.filter(professional=professional).select_related("unlock")


def _positive(amount) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError(f"a credit amount must be a positive integer, not {amount!r}")
    return amount


def grant(professional, amount: int, *, by, note: str = "") -> CreditEntry:
    """The operator gives ``amount`` credits to the professional (a ``grant`` entry)."""
    return CreditEntry.objects.create(
        professional=professional, amount=_positive(amount), kind=CreditEntry.Kind.GRANT,
        created_by=by, note=note[:255],
    )


def purchase(professional, amount: int, *, external_id: str,
             note: str = "") -> tuple[CreditEntry, bool]:
    """Credits bought (e.g. a paid Stripe Checkout session), once per ``external_id``.

    Idempotent: returns ``(entry, created)``; a second call with the same ``external_id``
    returns the first entry and ``False`` (the unique column settles concurrent calls).
    """
    _positive(amount)
    existing = CreditEntry.objects.filter(external_id=external_id).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return CreditEntry.objects.create(
                professional=professional, amount=amount, kind=CreditEntry.Kind.PURCHASE,
                external_id=external_id, note=note[:255],
            ), True
    except IntegrityError:  # the same payment credited concurrently
        return CreditEntry.objects.get(external_id=external_id), False


@dataclass(frozen=True)
class Status:
    """What the unlock button of one shared request shows to its recipient."""

    cost: int
    balance: int
    cap: int
    taken: int  # active unlocks of this message, by anyone
    unlock: Unlock | None  # this professional's active unlock

    @property
    def remaining(self) -> int:
        return max(0, self.cap - self.taken)

    @property
    def can_unlock(self) -> bool:
        return self.unlock is None and self.remaining > 0 and self.balance >= self.cost


def _active_unlocks(voicemail_id):
    return Unlock.objects.filter(voicemail_id=voicemail_id, refunded_at__isnull=True)


def unlock_status(delivery: Delivery) -> Status:
    """For the professional the delivery was made for (the one reading it)."""
    professional_id = delivery.professional_id
    mine = _active_unlocks(delivery.voicemail_id).filter(professional_id=professional_id).first()
    return Status(cost=cost(), balance=balance(professional_id), cap=cap(),
                  taken=_active_unlocks(delivery.voicemail_id).count(), unlock=mine)


def _professional_of(user) -> Professional | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Professional.objects.filter(user=user).first()


def _note(item: Unlock) -> str:
    # Never the message's reference: with the caller's number, it opens the caller's
    # portal (by SMS to the caller); shared recipients are never shown it.
    return f"Déblocage n° {item.pk}"


def unlock(delivery: Delivery, user) -> Unlock:
    """``user``'s professional pays to see the caller's number of this shared request.

    Raises :class:`UnlockRefused` (French message, nothing charged) when the request is not
    theirs, is their own message (free: no unlock needed), was withdrawn or erased, is
    already unlocked by them (:class:`AlreadyUnlocked`), has reached the cap, or when the
    balance is too low.
    """
    professional = _professional_of(user)
    if not access.addressed_to(delivery, professional):
        raise UnlockRefused("Cette demande ne vous est pas adressée.", "not_yours")
    if not reveal_enabled():
        raise UnlockRefused(REVEAL_OFF, "reveal_off")
    if delivery.kind == Delivery.Kind.OWN:
        raise UnlockRefused("C'est votre propre message : le numéro de l'appelant vous est "
                            "toujours communiqué, sans frais.", "own")
    price = cost()
    with transaction.atomic():
        # Lock order: the message, then the professional (every unlock takes both).
        vm = Voicemail.objects.select_for_update().filter(pk=delivery.voicemail_id).first()
        Professional.objects.select_for_update().filter(pk=professional.pk).first()
        d = Delivery.objects.select_related("listing__establishment").get(pk=delivery.pk)
        if vm is None or vm.status == Voicemail.Status.ERASED or not vm.caller_e164:
            raise UnlockRefused("Ce message a été effacé : son numéro ne peut plus être "
                                "débloqué.", "erased")
        if not d.accessible:
            raise UnlockRefused("L'appelant a retiré cette demande : elle ne peut plus être "
                                "débloquée.", "withdrawn")
        if access.readable_deliveries(professional).filter(
                voicemail=vm, kind=Delivery.Kind.OWN).exists():
            raise UnlockRefused("C'est votre propre message : le numéro de l'appelant vous "
                                "est toujours communiqué, sans frais.", "own")
        existing = Unlock.objects.filter(voicemail=vm, professional=professional).first()
        if existing is not None:
            if existing.refunded_at is None:
                raise AlreadyUnlocked(existing)
            raise UnlockRefused("Ce déblocage a été remboursé : la demande n'est plus "
                                "disponible.", "refunded")
        taken = _active_unlocks(vm.pk).count()
        if taken >= cap():
            raise UnlockRefused(
                f"Cette demande a déjà été débloquée par {taken} professionnels, le maximum "
                "autorisé : son numéro n'est plus proposé. Rien ne vous a été débité.", "cap")
        available = balance(professional)
        if available < price:
            raise UnlockRefused(
                f"Crédits insuffisants : ce déblocage coûte {price} crédit"
                f"{'s' if price > 1 else ''}, votre solde est de {available}. Rien ne vous "
                "a été débité.", "balance")
        item = Unlock.objects.create(
            delivery=d, voicemail=vm, voicemail_reference=vm.reference,
            professional=professional, listing_name=str(d.listing.establishment.name)[:255],
            cost=price,
        )
        if price:
            CreditEntry.objects.create(
                professional=professional, amount=-price, kind=CreditEntry.Kind.UNLOCK,
                unlock=item, created_by=user, note=_note(item),
            )
        audit.record(actor=audit.Actor.professional(user, d.listing), action=UNLOCKED,
                     voicemail=vm, delivery=d, detail={"cost": price, "rank": taken + 1})
    logger.info("voicemail %s unlocked by professional %s (%d/%d)", vm.pk, professional.pk,
                taken + 1, cap())
    return item


def reveal(unlock_: Unlock, actor: audit.Actor) -> str:
    """The unlocked number is displayed: keep the first time, audit every read.

    Returns the caller's E.164 number. Refused once the unlock was refunded, the request
    withdrawn or the message erased, and whenever the operator does not reveal numbers
    (a call-back's charge is an unlock too: it never shows the number then).
    """
    if not reveal_enabled():
        raise UnlockRefused(REVEAL_OFF, "reveal_off")
    with transaction.atomic():
        item = Unlock.objects.select_for_update().get(pk=unlock_.pk)
        if item.refunded_at is not None:
            raise UnlockRefused("Ce déblocage a été remboursé : le numéro n'est plus "
                                "disponible.", "refunded")
        d = (Delivery.objects.select_related("voicemail").filter(pk=item.delivery_id).first()
             if item.delivery_id else None)
        if d is None or not access.may_read(d, item.professional_id):
            # Withdrawn, erased, or the listing left the professional who unlocked it.
            raise UnlockRefused("Cette demande n'est plus disponible.", "withdrawn")
        if item.shown_at is None:
            item.shown_at = timezone.now()
            item.save(update_fields=["shown_at"])
        audit.record(actor=actor, action=audit.READ_CALLER_NUMBER, voicemail=d.voicemail,
                     delivery=d, detail={"via": "unlock", "unlock": item.pk})
    unlock_.shown_at = item.shown_at
    return d.voicemail.caller_e164


def refund_unshown(voicemail: Voicemail, *, reason: str, actor=None,
                   professional_id=None) -> int:
    """Refund every unlock of this message whose number was not shown yet.

    Called when the caller withdraws. Each refund is a ``refund`` ledger entry plus
    ``refunded_at``; an unlock whose number was already displayed is not refunded.
    Returns how many unlocks were refunded (idempotent: 0 the second time).
    """
    actor = actor or audit.Actor.system("credits")
    refunded = 0
    with transaction.atomic():
        rows = Unlock.objects.select_for_update().filter(
            voicemail=voicemail, shown_at__isnull=True, refunded_at__isnull=True)
        if professional_id is not None:  # this professional's only
            rows = rows.filter(professional_id=professional_id)
        rows = list(rows)
        now = timezone.now()
        for item in rows:
            item.refunded_at = now
            item.refund_reason = reason[:255]
            item.save(update_fields=["refunded_at", "refund_reason"])
            if item.cost:
                CreditEntry.objects.create(
                    professional_id=item.professional_id, amount=item.cost,
                    kind=CreditEntry.Kind.REFUND, unlock=item,
                    created_by_id=actor.user_id,
                    note=f"{_note(item)} : {reason}"[:255],
                )
            audit.record(actor=actor, action=UNLOCK_REFUNDED, voicemail=voicemail,
                         delivery=None, detail={"unlock": item.pk, "cost": item.cost,
                                                "reason": reason,
                                                "delivery": str(item.delivery_id or "")})
            refunded += 1
    return refunded


def unlocks_for(voicemail: Voicemail):
    """Who unlocked this message's number, and when: ``listing_name``, ``created_at``,
    ``shown_at``, ``refunded_at`` on each row, oldest first."""
    return Unlock.objects.filter(voicemail=voicemail).order_by("created_at", "pk")
