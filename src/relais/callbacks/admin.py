from django.contrib import admin

from .models import Callback, CallbackRefusal


@admin.register(Callback)
class CallbackAdmin(admin.ModelAdmin):
    """Call-backs for the operator: states, lengths, charges; no phone number is kept."""

    list_display = ("created_at", "listing_name", "status", "bridge_seconds",
                    "charged_credits")
    list_filter = ("status",)
    search_fields = ("listing_name",)
    readonly_fields = [f.name for f in Callback._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(CallbackRefusal)
class CallbackRefusalAdmin(admin.ModelAdmin):
    list_display = ("created_at", "voicemail")
    readonly_fields = ("voicemail", "callback", "created_at")

    def has_add_permission(self, request):
        return False
