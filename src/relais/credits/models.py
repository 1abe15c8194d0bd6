"""Credits and unlocks: the append-only ledger and the paid unlocks of callers' numbers.

- :class:`CreditEntry` — one movement of credits (grant, purchase, unlock, refund). The
  ledger is append-only: a professional's balance is always the sum of its entries,
  never a stored number.
- :class:`Unlock` — one professional paid to see the caller's number of one shared
  request (at most ``RELAIS_UNLOCK_CAP`` per message); the caller sees who and when.

Policy lives in :mod:`relais.credits.services`.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from relais.core.models import AppendOnlyModel
from relais.pros.models import Professional
from relais.routing.models import Delivery
from relais.voicemail.models import Voicemail


class Unlock(models.Model):
    """A professional unlocked the caller's number of one shared request.

    One per (voicemail, professional). ``shown_at`` is set the first time the number is
    displayed; an unlock whose number was never shown is refunded if the caller withdraws
    (``refunded_at``). The listing's name is kept as a snapshot for the caller's page, and
    the links to the delivery and message survive their deletion (SET_NULL): the ledger
    points at unlocks, which are never deleted.
    """

    delivery = models.OneToOneField(Delivery, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="unlock")
    voicemail = models.ForeignKey(Voicemail, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="unlocks")
    voicemail_reference = models.CharField(max_length=12, blank=True)
    professional = models.ForeignKey(Professional, on_delete=models.PROTECT,
                                     related_name="unlocks")
    listing_name = models.CharField(_("fiche"), max_length=255, blank=True)
    cost = models.PositiveIntegerField(_("coût (crédits)"))
    created_at = models.DateTimeField(_("débloqué le"), default=timezone.now)
    shown_at = models.DateTimeField(_("numéro affiché le"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("remboursé le"), null=True, blank=True)
    refund_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["voicemail", "professional"],
                                    name="one_unlock_per_professional"),
        ]
        verbose_name = _("déblocage")
        verbose_name_plural = _("déblocages")

    def __str__(self) -> str:
        return f"{self.voicemail_reference} → {self.listing_name}"

    @property
    def active(self) -> bool:
        return self.refunded_at is None


class CreditEntry(AppendOnlyModel):
    """One movement of a professional's credits; the balance is the sum of the entries.

    Append-only in the application (:class:`~relais.core.models.AppendOnlyModel`, like
    the audit trail): a correction is a new entry.
    """

    class Kind(models.TextChoices):
        GRANT = "grant", _("crédits offerts")
        PURCHASE = "purchase", _("achat")
        UNLOCK = "unlock", _("déblocage")
        REFUND = "refund", _("remboursement")
        CALLBACK = "callback", _("mise en relation")

    id = models.BigAutoField(primary_key=True)
    professional = models.ForeignKey(Professional, on_delete=models.PROTECT,
                                     related_name="credit_entries",
                                     verbose_name=_("professionnel"))
    amount = models.IntegerField(_("montant (crédits)"))  # signed: + credit, − debit
    kind = models.CharField(_("type"), max_length=8, choices=Kind.choices)
    unlock = models.ForeignKey(Unlock, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="entries")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("par"))
    note = models.CharField(_("note"), max_length=255, blank=True)
    # An outside reference that must be credited once (e.g. a Stripe event id).
    external_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(_("date"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["professional", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="credit_entry_not_zero"),
        ]
        verbose_name = _("écriture de crédits")
        verbose_name_plural = _("registre des crédits")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.professional_id} {self.amount:+d}"
