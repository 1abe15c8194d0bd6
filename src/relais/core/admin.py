from django.contrib import admin

from .models import OutboxMessage


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
