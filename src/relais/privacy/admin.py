"""Admin: erasure tombstones, and the operator's audited access to messages.

Voicemails are registered here (relais.voicemail.admin's VoicemailAdmin, plus what reads
or erases personal data): the detail page records its reads of the transcript and the
caller's number, the recordings stream through :meth:`VoicemailAdmin.media_view` (each
request audited), and the erase action is the caller's right to erasure.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from relais.core import audit, http
from relais.core.admin import ReadOnlyMixin
from relais.voicemail import admin as voicemail_admin
from relais.voicemail.models import Voicemail

from . import services
from .models import Erasure


@admin.register(Erasure)
class ErasureAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Tombstones of erased messages: counts only, read-only."""

    list_display = ["erased_at", "requested_by", "received_on", "metier", "duration_bucket",
                    "recipients", "shared_recipients", "unlocks"]
    list_filter = ["requested_by", "metier"]


@admin.register(Voicemail)
class VoicemailAdmin(voicemail_admin.VoicemailAdmin):
    """Voicemails: the detail page is where an operator reads personal data, each read
    audited."""

    actions = [*voicemail_admin.VoicemailAdmin.actions, "erase_messages"]
    readonly_fields = [*voicemail_admin.VoicemailAdmin.readonly_fields,
                       "audio_player", "extract_player", "audit_trail"]

    @admin.display(description=_("journal d'audit"))
    def audit_trail(self, obj):
        if obj is None:
            return "—"
        url = reverse("admin:core_auditevent_changelist")
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
        vm = get_object_or_404(Voicemail, pk=object_id)
        if not self.has_view_permission(request, vm):
            raise PermissionDenied
        if which not in ("audio", "extract") or not getattr(vm, which):
            raise Http404("no such recording")
        fieldfile = getattr(vm, which)
        response = http.ranged_file_response(
            request, fieldfile, f"message-{vm.reference}-{which}.{http.extension(fieldfile.name)}")
        if http.served(response):
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
        done = sum(1 for vm in queryset if not services.erase(
            vm, actor=audit.Actor.operator(request.user), requested_by="operator").already)
        self.message_user(request, _("%(n)d message(s) effacé(s).") % {"n": done},
                          messages.SUCCESS)
