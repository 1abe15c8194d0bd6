from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from relais.privacy import audit

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
    actions = ["retry_failed_steps", "erase_messages"]
    # Personal data (audio, transcript, caller number) is not shown in the changelist;
    # the detail page is where an operator reads it, and each read is audited. The
    # recordings are never linked by a storage URL: they stream through media_view.
    exclude = ["audio", "extract"]
    readonly_fields = ["id", "reference", "created_at", "updated_at", "status_detail",
                       "audio_player", "extract_player", "audit_trail"]

    @admin.display(description=_("journal d'audit"))
    def audit_trail(self, obj):
        if obj is None:
            return "—"
        url = reverse("admin:privacy_auditevent_changelist")
        return format_html('<a href="{}?voicemail_reference={}">{}</a>', url, obj.reference,
                           _("Voir les accès à ce message"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            vm = self.get_object(request, object_id)
            if vm is not None and self.has_view_permission(request, vm):
                actor = audit.Actor.operator(request.user)
                if vm.transcript:
                    audit.record(actor=actor, action=audit.READ_TRANSCRIPT, voicemail=vm,
                                 detail={"via": "admin"})
                if vm.caller_e164:
                    audit.record(actor=actor, action=audit.READ_CALLER_NUMBER, voicemail=vm,
                                 detail={"via": "admin"})
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path("<uuid:object_id>/ecouter/<str:which>/",
                 self.admin_site.admin_view(self.media_view), name="voicemail_media"),
            *super().get_urls(),
        ]

    def media_view(self, request, object_id, which: str):
        """The recording or the extract for an operator, audited."""
        from relais.routing.views import stream

        vm = get_object_or_404(Voicemail, pk=object_id)
        if not self.has_view_permission(request, vm):
            raise PermissionDenied
        if which not in ("audio", "extract") or not getattr(vm, which):
            raise Http404("no such recording")
        fieldfile = getattr(vm, which)
        ext = (fieldfile.name.rsplit(".", 1)[-1] if "." in fieldfile.name else "bin")[:5]
        response = stream(request, fieldfile, f"message-{vm.reference}-{which}.{ext}")
        if response.status_code in (200, 206):
            audit.record(actor=audit.Actor.operator(request.user),
                         action=audit.READ_AUDIO if which == "audio" else audit.READ_EXTRACT,
                         voicemail=vm, detail={"via": "admin",
                                               "range": request.headers.get("Range", "")})
        return response

    def _player(self, obj, which):
        if obj is None or not getattr(obj, which):
            return "—"
        url = reverse("admin:voicemail_media", args=[obj.pk, which])
        return format_html('<audio controls preload="none" src="{}"></audio>', url)

    @admin.display(description=_("enregistrement"))
    def audio_player(self, obj):
        return self._player(obj, "audio")

    @admin.display(description=_("extrait anonymisé"))
    def extract_player(self, obj):
        return self._player(obj, "extract")

    @admin.action(description=_("Effacer ces messages (demande de l'appelant)"),
                  permissions=["change"])
    def erase_messages(self, request, queryset):
        from relais.privacy import services

        done = sum(1 for vm in queryset if not services.erase(
            vm, actor=audit.Actor.operator(request.user), requested_by="operator").already)
        self.message_user(request, _("%(n)d message(s) effacé(s).") % {"n": done},
                          messages.SUCCESS)

    @admin.action(description=_("Relancer les étapes en échec"))
    def retry_failed_steps(self, request, queryset):
        count = sum(1 for vm in queryset if pipeline.retry_failed(vm))
        self.message_user(
            request, _("%(n)d message(s) relancé(s).") % {"n": count}, messages.SUCCESS
        )
