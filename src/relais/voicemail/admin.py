"""Admin of voicemails and their pipeline steps: the base the privacy app registers.

A message's personal data is read in the admin only with each read audited: the
recordings' players (streamed, never by a storage URL), the audited detail page, the link
to the message's audit trail and the erase action are added by relais.privacy.admin,
whose subclass of :class:`VoicemailAdmin` is the one registered. Without the privacy app
voicemails have no admin page at all.
"""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import pipeline
from .models import PipelineStep


class PipelineStepInline(admin.TabularInline):
    model = PipelineStep
    extra = 0
    can_delete = False
    # A waiting step shows what it waits for (detail) and until when (next_attempt_at).
    fields = ["position", "name", "status", "attempts", "duration_ms", "started_at",
              "finished_at", "next_attempt_at", "detail", "error"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class VoicemailAdmin(admin.ModelAdmin):
    list_display = ["reference", "created_at", "listing", "status", "consent", "intent",
                    "metier", "shareable", "confidence"]
    list_filter = ["status", "consent", "intent", "shareable", "urgency", "transcript_reliable"]
    search_fields = ["reference", "recording_sid", "call__call_sid"]
    raw_id_fields = ["listing", "call", "metier"]
    inlines = [PipelineStepInline]
    actions = ["retry_failed_steps"]
    # Personal data (audio, transcript, caller number) is not shown in the changelist.
    # The recordings are never linked by a storage URL (the privacy app streams them).
    exclude = ["audio", "extract"]
    readonly_fields = ["id", "reference", "created_at", "updated_at", "status_detail"]

    @admin.action(description=_("Relancer les étapes en échec"))
    def retry_failed_steps(self, request, queryset):
        count = sum(1 for vm in queryset if pipeline.retry_failed(vm))
        self.message_user(
            request, _("%(n)d message(s) relancé(s).") % {"n": count}, messages.SUCCESS
        )
