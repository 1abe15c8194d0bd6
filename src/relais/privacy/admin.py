from django.contrib import admin

from relais.core.admin import ReadOnlyMixin

from . import audit
from .models import AuditEvent, Erasure


class ReferenceFilter(admin.SimpleListFilter):
    """Filter the trail by a message's reference (?voicemail_reference=12345678)."""

    title = "référence du message"
    parameter_name = "voicemail_reference"

    def lookups(self, request, model_admin):
        value = self.value()
        return [(value, value)] if value else []

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        return queryset.filter(voicemail_reference=value) if value else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The audit trail, read-only (append-only in the application)."""

    list_display = ["at", "actor_kind", "actor_label", "action_display", "voicemail_reference",
                    "delivery_id"]
    list_filter = [ReferenceFilter, "actor_kind", "action", "at"]
    search_fields = ["=voicemail_reference", "actor_label", "=action"]
    date_hierarchy = "at"

    @admin.display(description="action", ordering="action")
    def action_display(self, obj):
        label = audit.action_label(obj.action)
        return obj.action if label == obj.action else f"{label} ({obj.action})"


@admin.register(Erasure)
class ErasureAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Tombstones of erased messages: counts only, read-only."""

    list_display = ["erased_at", "requested_by", "received_on", "metier", "duration_bucket",
                    "recipients", "shared_recipients", "unlocks"]
    list_filter = ["requested_by", "metier"]
