from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import pipeline
from .models import PipelineStep, Voicemail


class PipelineStepInline(admin.TabularInline):
    model = PipelineStep
    extra = 0
    can_delete = False
    fields = ["position", "name", "status", "attempts", "duration_ms", "started_at",
              "finished_at", "next_attempt_at", "error"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Voicemail)
class VoicemailAdmin(admin.ModelAdmin):
    list_display = ["reference", "created_at", "listing", "status", "consent", "intent",
                    "metier", "shareable", "confidence"]
    list_filter = ["status", "consent", "intent", "shareable", "urgency"]
    search_fields = ["reference", "recording_sid", "call__call_sid"]
    raw_id_fields = ["listing", "call", "metier"]
    inlines = [PipelineStepInline]
    actions = ["retry_failed_steps"]
    # Personal data (audio, transcript, caller number) is not shown in the changelist;
    # the detail page is where an operator reads it.
    readonly_fields = ["id", "reference", "created_at", "updated_at", "status_detail"]

    @admin.action(description=_("Relancer les étapes en échec"))
    def retry_failed_steps(self, request, queryset):
        count = sum(1 for vm in queryset if pipeline.retry_failed(vm))
        self.message_user(
            request, _("%(n)d message(s) relancé(s).") % {"n": count}, messages.SUCCESS
        )
