"""Telephony: tracking numbers, the call log, blocked callers, audio prompts."""

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

from relais.pros.models import Listing, Professional


class TrackingNumber(models.Model):
    """A number the operator holds at its telephony provider, assigned to one listing."""

    e164 = models.CharField(max_length=20, unique=True)
    listing = models.OneToOneField(
        Listing, null=True, blank=True, on_delete=models.SET_NULL, related_name="tracking_number"
    )
    added_at = models.DateTimeField(auto_now_add=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["e164"]
        verbose_name = _("numéro de suivi")
        verbose_name_plural = _("numéros de suivi")

    def __str__(self) -> str:
        return self.e164


class Call(models.Model):
    """One incoming call on a tracking number (the call log)."""

    class Outcome(models.TextChoices):
        RINGING = "ringing", _("en cours")
        ANSWERED = "answered", _("répondu")
        MISSED = "missed", _("manqué")
        VOICEMAIL = "voicemail", _("message laissé")
        REJECTED = "rejected", _("refusé")

    call_sid = models.CharField(max_length=64, unique=True)
    tracking_number = models.ForeignKey(
        TrackingNumber, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    to_e164 = models.CharField(max_length=20)
    listing = models.ForeignKey(
        Listing, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    # Who held the listing with an approved claim when the call came in (None: nobody —
    # the listing was not claimed). Only they may see the call (relais.calls.access).
    professional = models.ForeignKey(
        Professional, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )
    # The establishment called (its SIRET): the listing's, or — a call to a number of
    # the pool (relais.directory.pool) — the one the number was bound to when it came in.
    establishment_siret = models.CharField(max_length=14, blank=True)
    via_pool = models.BooleanField(default=False)
    caller_e164 = models.CharField(max_length=20, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.RINGING)
    dial_status = models.CharField(max_length=16, blank=True)
    dial_duration = models.PositiveIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("appel")
        indexes = [models.Index(fields=["listing", "-started_at"]),
                   models.Index(fields=["professional", "-started_at"],
                                name="call_professional_started"),
                   # the console's summary refresh reads one day of calls at a time
                   models.Index(fields=["started_at"], name="call_started_at")]

    def __str__(self) -> str:
        return self.call_sid


class BlockedCaller(models.Model):
    """A caller number the operator blocked: its calls are refused politely."""

    e164 = models.CharField(max_length=20, unique=True)
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("appelant bloqué")
        verbose_name_plural = _("appelants bloqués")

    def __str__(self) -> str:
        return self.e164


def prompt_path(instance: "Prompt", filename: str) -> str:
    return f"prompts/{instance.key}/{secrets.token_hex(4)}-{filename}"


class Prompt(models.Model):
    """A recording the operator uploaded to replace a text-to-speech prompt.

    Prompts are announcements, not personal data: Twilio fetches them without credentials
    from ``/telephony/prompts/<key>`` (relais.calls.views.prompt_audio).
    """

    key = models.CharField(_("annonce"), max_length=32, unique=True)
    audio = models.FileField(_("fichier audio (WAV ou MP3)"), upload_to=prompt_path)
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("annonce audio")
        verbose_name_plural = _("annonces audio")

    def __str__(self) -> str:
        return self.key
