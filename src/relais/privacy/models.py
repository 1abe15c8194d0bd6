"""Privacy: portal challenges, erasure tombstones, pending file deletions (the audit trail
itself is :class:`relais.core.models.AuditEvent`)."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PortalChallenge(models.Model):
    """One request to open the caller portal: a one-time code sent by SMS.

    A row is written for every well-formed request, whether or not the reference and
    number match a message (``voicemail`` is then empty and no SMS is sent): the answer
    and the limits are the same either way, so the portal never reveals whether a
    reference exists. ``key`` is a keyed hash of (reference, number), counted for the
    per-hour send limit; ``code_hash`` a keyed hash of the code, never the code itself.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(max_length=64, db_index=True)
    voicemail = models.ForeignKey("voicemail.Voicemail", null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("code de vérification")
        verbose_name_plural = _("codes de vérification")

    def __str__(self) -> str:
        return f"{self.key[:12]}… {self.created_at:%Y-%m-%d %H:%M}"


class Erasure(models.Model):
    """The tombstone of an erased message: non-personal counts only.

    The voicemail row stays (status ``erased``, every personal field emptied) so that
    deliveries and the audit trail keep pointing at something; this row says when and
    at whose request it was erased, and keeps the statistics an operator still needs.
    """

    class By(models.TextChoices):
        CALLER = "caller", _("l'appelant")
        OPERATOR = "operator", _("un opérateur")

    voicemail_id = models.UUIDField(unique=True)
    erased_at = models.DateTimeField(default=timezone.now)
    requested_by = models.CharField(max_length=10, choices=By.choices)
    received_on = models.DateField(null=True, blank=True)
    metier = models.CharField(max_length=64, blank=True)
    duration_bucket = models.CharField(max_length=16, blank=True)
    consent = models.CharField(max_length=8, blank=True)
    recipients = models.PositiveIntegerField(default=0)
    shared_recipients = models.PositiveIntegerField(default=0)
    unlocks = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-erased_at"]
        verbose_name = _("message effacé")
        verbose_name_plural = _("messages effacés")

    def __str__(self) -> str:
        return f"{self.voicemail_id} effacé le {self.erased_at:%Y-%m-%d}"


class PendingFileDeletion(models.Model):
    """A stored file to delete once the transaction that forgot it has committed.

    Erasure and retention empty the file fields inside a transaction and queue the
    names here in the same transaction; the files are deleted after the commit, and
    the row removed once the storage has confirmed. A crash between the two leaves the
    row, and the next erasure attempt or purge finishes the job: no file is orphaned.
    """

    name = models.CharField(max_length=500)
    reason = models.CharField(max_length=32)
    voicemail_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name
