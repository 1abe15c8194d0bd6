"""Site-wide plumbing: append-only records, reference data versions, the development outbox."""

from django.db import models
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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("message de la boîte d'envoi")

    def __str__(self) -> str:
        return f"{self.kind} → {self.to}: {self.subject or self.body[:40]}"


class PeriodicRun(models.Model):
    """When a periodic job last ran (shared by every worker, so each runs once)."""

    name = models.CharField(max_length=64, primary_key=True)
    last_run_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_run_at:%Y-%m-%d %H:%M}"
