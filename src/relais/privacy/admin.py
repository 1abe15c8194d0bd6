from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail, read-only (append-only in the application)."""

    list_display = ["at", "actor_kind", "actor_label", "action", "voicemail_reference",
                    "delivery_id"]
    list_filter = ["actor_kind", "action", "at"]
    search_fields = ["voicemail_reference", "actor_label"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
