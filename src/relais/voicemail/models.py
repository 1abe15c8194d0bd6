"""Voice messages and the steps of their processing pipeline."""

import secrets
import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from relais.directory.models import Metier
from relais.pros.models import Listing

# Reference codes are read to the caller: digits only, no leading zero.
REFERENCE_LENGTH = 8


def new_reference() -> str:
    return str(secrets.randbelow(9 * 10 ** (REFERENCE_LENGTH - 1)) + 10 ** (REFERENCE_LENGTH - 1))


def recording_path(instance: "Voicemail", filename: str) -> str:
    # Random, never guessable; the storage is never served by a public URL.
    return f"recordings/{instance.id.hex}/{secrets.token_hex(8)}-{filename}"


class Voicemail(models.Model):
    """A message left by a caller for a listing whose professional did not answer."""

    class Consent(models.TextChoices):
        SHARE = "share", _("partage accepté")
        PRIVATE = "private", _("ce professionnel seulement")

    class Status(models.TextChoices):
        RECORDING = "recording", _("enregistrement en cours")
        RECEIVED = "received", _("reçu")
        DOWNLOADING = "downloading", _("téléchargement")
        PROCESSING = "processing", _("traitement")
        DONE = "done", _("traité")
        FAILED = "failed", _("échec")
        REJECTED = "rejected", _("audio refusé")
        ERASED = "erased", _("effacé")

    class Channel(models.TextChoices):
        VOICE = "voice", _("message vocal")
        # A request written by SMS (relais.texts): its text is the transcript; no audio,
        # so the fetch, normalise and transcribe steps have nothing to do.
        SMS = "sms", _("SMS")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.CharField(max_length=5, choices=Channel.choices, default=Channel.VOICE)
    reference = models.CharField(max_length=12, unique=True, default=new_reference)
    call = models.OneToOneField(
        "calls.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="voicemail"
    )
    listing = models.ForeignKey(
        Listing, null=True, blank=True, on_delete=models.SET_NULL, related_name="voicemails"
    )
    caller_e164 = models.CharField(max_length=20, blank=True)
    consent = models.CharField(max_length=8, choices=Consent.choices, default=Consent.PRIVATE)
    consent_recorded_at = models.DateTimeField(null=True, blank=True)
    recording_sid = models.CharField(max_length=64, unique=True, null=True, blank=True)
    recording_url = models.CharField(max_length=500, blank=True)  # validated by calls
    recording_duration = models.PositiveIntegerField(null=True, blank=True)  # provider's
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECORDING)
    status_detail = models.CharField(max_length=500, blank=True)

    audio = models.FileField(upload_to=recording_path, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)  # measured on decode

    transcript = models.TextField(blank=True)
    words = models.JSONField(default=list, blank=True)  # [{"start", "end", "word"}]
    language = models.CharField(max_length=8, blank=True)
    # How the transcript was made: model, speech seconds, and the intervals Whisper
    # itself distrusts (their words may be missing from the text: always bleeped).
    speech = models.JSONField(default=dict, blank=True)
    # False when the transcript had to be cut (a decoding loop, words invented on
    # silence) or was decoded with low confidence: the professional is told to listen,
    # and the message is never shared without a person (routing moderates it).
    transcript_reliable = models.BooleanField(default=True)

    intent = models.CharField(max_length=32, blank=True)
    shareable = models.BooleanField(default=False)
    confidence = models.FloatField(null=True, blank=True)
    metier = models.ForeignKey(Metier, null=True, blank=True, on_delete=models.SET_NULL)
    urgency = models.CharField(max_length=16, blank=True)
    reasons = models.JSONField(default=list, blank=True)  # why understanding decided so

    redacted_text = models.TextField(blank=True)
    extract = models.FileField(upload_to=recording_path, blank=True)  # bleeped, ≤ 20 s

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        # The console's summary refresh reads one day of messages at a time.
        indexes = [models.Index(fields=["created_at"], name="voicemail_created_at")]
        verbose_name = _("message vocal")
        verbose_name_plural = _("messages vocaux")

    def __str__(self) -> str:
        return f"Message {self.reference}"


def is_text(voicemail: Voicemail) -> bool:
    """A written request (SMS): no recording to fetch, decode or transcribe."""
    return voicemail.channel == Voicemail.Channel.SMS


class PipelineStep(models.Model):
    """One step of a voicemail's processing, with its state, attempts and timing."""

    class Status(models.TextChoices):
        PENDING = "pending", _("en attente")
        RUNNING = "running", _("en cours")
        RETRY = "retry", _("nouvelle tentative prévue")
        # Not a failure: the step waits for an event (e.g. the caller's consent) or a time.
        WAITING = "waiting", _("en attente d'un événement")
        DONE = "done", _("terminé")
        FAILED = "failed", _("échec")
        SKIPPED = "skipped", _("sans objet")

    voicemail = models.ForeignKey(Voicemail, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=16)
    position = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Information, not an error: what a waiting step waits for.
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["voicemail", "position"]
        constraints = [
            models.UniqueConstraint(fields=["voicemail", "name"], name="one_step_per_name")
        ]
        indexes = [models.Index(fields=["status", "lease_until"])]
        verbose_name = _("étape de traitement")
        verbose_name_plural = _("étapes de traitement")

    def __str__(self) -> str:
        return f"{self.voicemail_id} {self.name} {self.status}"
