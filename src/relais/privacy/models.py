"""Privacy: the audit trail of reads of personal data (extended by the privacy app)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete an audit event."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit events are append-only")

    def delete(self):
        raise AppendOnlyError("audit events are append-only")

    _raw_delete = delete


class AuditEvent(models.Model):
    """One read (or operator action) on personal data: who, what, when, through what.

    Append-only in the application: ``save()`` refuses updates, ``delete()`` refuses,
    and the queryset refuses bulk ``update()``/``delete()``. Identifiers of the message
    and delivery are copied as plain values (no foreign keys), so the trail survives the
    erasure of what it describes and no cascade ever rewrites it.
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

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("événement d'audit")
        verbose_name_plural = _("journal d'audit")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_kind} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events are append-only")
