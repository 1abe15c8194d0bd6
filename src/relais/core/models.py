"""Site-wide plumbing: append-only records, the audit trail, reference data versions, the
development outbox, periodic runs."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete a row of an append-only record."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model._meta.verbose_name_plural} are append-only")

    def delete(self):
        raise AppendOnlyError(f"{self.model._meta.verbose_name_plural} are append-only")

    _raw_delete = delete


class AppendOnlyModel(models.Model):
    """Rows are added, never changed or deleted, in the application.

    ``save()`` refuses updates, ``delete()`` refuses, and the default manager's queryset
    refuses bulk ``update()``/``delete()``. A correction is a new row. (The audit trail
    and the credits ledger.)
    """

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{self._meta.verbose_name_plural} are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{self._meta.verbose_name_plural} are append-only")


class ReferenceVersion(models.Model):
    """Which version (hash) of a shipped reference file is loaded."""

    name = models.CharField(max_length=32, primary_key=True)
    digest = models.CharField(max_length=64)
    loaded_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} {self.digest[:12]}"


class OutboxMessage(models.Model):
    """An email or SMS kept in the development outbox instead of being sent.

    Used on the embedded default (EMAIL_URL=outbox:, no SMS provider) and shown on the
    demo pages; a production configuration sends for real and never writes here.
    """

    class Kind(models.TextChoices):
        EMAIL = "email", _("e-mail")
        SMS = "sms", _("SMS")

    kind = models.CharField(max_length=5, choices=Kind.choices)
    to = models.CharField(max_length=255)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()
    html = models.TextField(blank=True)
    # SMS only: the number it is sent from ("" = RELAIS_SMS_FROM) and its segments.
    sender = models.CharField(max_length=20, blank=True)
    segments = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("message de la boîte d'envoi")

    def __str__(self) -> str:
        return f"{self.kind} → {self.to}: {self.subject or self.body[:40]}"


class SmsOptOut(models.Model):
    """A number that answered STOP (or ARRET…): the SMS transport sends it nothing more,
    until it answers START. The number is E.164, stored to honour the request."""

    e164 = models.CharField(max_length=20, unique=True)
    keyword = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("opposition aux SMS")
        verbose_name_plural = _("oppositions aux SMS")

    def __str__(self) -> str:
        return self.e164


class PeriodicRun(models.Model):
    """When a periodic job last ran (shared by every worker, so each runs once)."""

    name = models.CharField(max_length=64, primary_key=True)
    last_run_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_run_at:%Y-%m-%d %H:%M}"


class AuditEvent(AppendOnlyModel):
    """One read (or operator action) on personal data: who, what, when, through what.

    Append-only in the application (:class:`~relais.core.models.AppendOnlyModel`).
    Identifiers of the message and delivery are copied as plain values (no foreign
    keys), so the trail survives the erasure of what it describes and no cascade ever
    rewrites it.
    """

    class ActorKind(models.TextChoices):
        PROFESSIONAL = "professional", _("professionnel (connecté)")
        LINK = "link", _("destinataire (lien signé)")
        OPERATOR = "operator", _("opérateur")
        CALLER = "caller", _("appelant")
        SYSTEM = "system", _("système")

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_kind = models.CharField(max_length=12, choices=ActorKind.choices)
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor_listing_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=255, blank=True)  # snapshot: who it was
    action = models.CharField(max_length=48, db_index=True)
    voicemail_id = models.UUIDField(null=True, blank=True, db_index=True)
    voicemail_reference = models.CharField(max_length=12, blank=True)
    delivery_id = models.UUIDField(null=True, blank=True, db_index=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "privacy_auditevent"  # created by the privacy app, whose it was first
        ordering = ["-at", "-id"]
        verbose_name = _("événement d'audit")
        verbose_name_plural = _("journal d'audit")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_kind} {self.action}"
