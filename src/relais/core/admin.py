from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from . import audit
from .models import AuditEvent, OutboxMessage


class ReadOnlyMixin:
    """A view-only admin: no add, change or delete (trails, ledgers, tombstones)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "to", "subject"]
    list_filter = ["kind"]
    readonly_fields = ["kind", "to", "subject", "body", "html", "created_at"]


class ReferenceFilter(admin.SimpleListFilter):
    """Filter the trail by a message's reference (?voicemail_reference=12345678)."""

    title = _("référence du message")
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

    @admin.display(description=_("action"), ordering="action")
    def action_display(self, obj):
        label = audit.action_label(obj.action)
        return obj.action if label == obj.action else f"{label} ({obj.action})"
