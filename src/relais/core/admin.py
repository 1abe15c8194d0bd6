from django.contrib import admin

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "to", "subject"]
    list_filter = ["kind"]
    readonly_fields = ["kind", "to", "subject", "body", "html", "created_at"]
