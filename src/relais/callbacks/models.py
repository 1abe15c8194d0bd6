"""Call-backs through Relais.

- :class:`Callback` — one attempt by a professional to call a message's caller back
  through Relais: the provider calls the professional's forward number, then the caller
  with the listing's tracking number as caller ID, and bridges them. Neither sees the
  other's number. Charged at most once per professional and message (its ``unlock``:
  the paid access of :mod:`relais.credits`, which keeps the cap of professionals per
  message), only when the caller's leg was answered and the bridge lasted at least
  ``RELAIS_CALLBACK_MIN_SECONDS``.
- :class:`CallbackRefusal` — the caller pressed 9 during the whisper: no more call-backs
  for this message.

Policy lives in :mod:`relais.callbacks.services`.
"""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from relais.credits.models import Unlock
from relais.pros.models import Professional
from relais.routing.models import Delivery
from relais.voicemail.models import Voicemail


class Callback(models.Model):
    class Status(models.TextChoices):
        CALLING_PRO = "calling_pro", _("appel de votre téléphone")
        CALLING_CALLER = "calling_caller", _("appel de la personne")
        COMPLETED = "completed", _("mis en relation")
        TOO_SHORT = "too_short", _("mis en relation (trop court pour être facturé)")
        PRO_NO_ANSWER = "pro_no_answer", _("vous n'avez pas décroché")
        CALLER_NO_ANSWER = "caller_no_answer", _("la personne n'a pas répondu")
        CALLER_BUSY = "caller_busy", _("la ligne de la personne était occupée")
        REFUSED = "refused", _("la personne a refusé les rappels")
        STOPPED = "stopped", _("rappel interrompu (demande retirée)")
        FAILED = "failed", _("échec de l'appel")

    FINAL = (Status.COMPLETED, Status.TOO_SHORT, Status.PRO_NO_ANSWER, Status.CALLER_NO_ANSWER,
             Status.CALLER_BUSY, Status.REFUSED, Status.STOPPED, Status.FAILED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    delivery = models.ForeignKey(Delivery, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="callbacks")
    voicemail = models.ForeignKey(Voicemail, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="callbacks")
    professional = models.ForeignKey(Professional, on_delete=models.PROTECT,
                                     related_name="callbacks")
    listing_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices,
                              default=Status.CALLING_PRO)
    pro_call_sid = models.CharField(max_length=64, unique=True, null=True, blank=True)
    # The bridged conversation's length: DialCallDuration minus the whisper (the time from
    # the caller's answer to their 1).
    bridge_seconds = models.PositiveIntegerField(null=True, blank=True)
    charged_credits = models.PositiveIntegerField(default=0)
    unlock = models.ForeignKey(Unlock, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="callbacks")
    error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    # When the caller's leg answered (its whisper was requested): DialCallDuration counts
    # from there, the whisper included; the time before the 1 is not charged.
    caller_answered_at = models.DateTimeField(null=True, blank=True)
    # When the caller pressed 1 during their whisper: the bridge starts (nothing is
    # bridged, nothing charged, without that key: an answering machine presses nothing).
    bridged_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["professional", "voicemail", "created_at"],
                                name="callback_pro_vm_created")]
        verbose_name = _("rappel via Relais")
        verbose_name_plural = _("rappels via Relais")

    def __str__(self) -> str:
        return f"{self.pk} {self.status}"

    @property
    def in_progress(self) -> bool:
        return self.status not in self.FINAL


class CallbackRefusal(models.Model):
    """The caller refused call-backs for this message (key 9 during the whisper)."""

    voicemail = models.OneToOneField(Voicemail, on_delete=models.CASCADE,
                                     related_name="callback_refusal")
    callback = models.ForeignKey(Callback, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("refus de rappel")
        verbose_name_plural = _("refus de rappel")

    def __str__(self) -> str:
        return f"{self.voicemail_id} refused"
