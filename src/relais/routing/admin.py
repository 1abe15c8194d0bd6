"""Admin: routing decisions (read-only), the moderation queue, deliveries, reports, feedback.

Personal data stays off the lists. The moderation page shows the redacted transcript
(never the raw one or the caller's number) and records that read in the audit trail.
"""

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from relais.core import audit
from relais.core.admin import ReadOnlyMixin

from . import notifications, services
from .models import (
    CallerReport,
    Delivery,
    Digest,
    Feedback,
    ModerationItem,
    RoutingDecision,
)


def _reasons_html(reasons) -> str:
    return format_html("<ul>{}</ul>", format_html_join(
        "", "<li><code>{}</code> {}</li>", ((r.get("code", ""), r.get("text", "")) for r in reasons)
    )) if reasons else "—"


@admin.register(RoutingDecision)
class RoutingDecisionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["reference", "created_at", "outcome", "moderation", "reason_codes",
                    "recipients"]
    list_filter = ["outcome", "moderation", "created_at"]
    search_fields = ["voicemail__reference"]
    list_select_related = ["voicemail"]
    fields = ["voicemail", "outcome", "reasons_display", "deliveries_display", "facts_display",
              "excluded_display", "moderation", "moderated_by", "moderated_at", "created_at"]
    readonly_fields = fields

    @admin.display(description=_("distributions"))
    def deliveries_display(self, obj):
        rows = obj.voicemail.deliveries.select_related("listing__establishment").order_by(
            "kind", "rank")
        return format_html(
            "<table><tr><th>fiche</th><th>type</th><th>rang</th><th>distance</th><th>état</th>"
            "<th>raison</th></tr>{}</table>",
            format_html_join("", "<tr><td><a href='{}'>{}</a></td><td>{}</td><td>{}</td>"
                             "<td>{}</td><td>{}</td><td>{}</td></tr>", (
                (reverse("admin:routing_delivery_change", args=[d.pk]),
                 d.listing.establishment.name, d.get_kind_display(),
                 "—" if d.rank is None else d.rank,
                 "—" if d.distance_km is None else f"{d.distance_km:.1f} km",
                 d.get_status_display(), d.reason.get("text", "") or d.status_reason)
                for d in rows)))

    @admin.display(description=_("message"), ordering="voicemail__reference")
    def reference(self, obj):
        return obj.voicemail.reference

    @admin.display(description=_("raisons"))
    def reason_codes(self, obj):
        return ", ".join(r.get("code", "") for r in obj.reasons)

    @admin.display(description=_("destinataires partagés"))
    def recipients(self, obj):
        return obj.voicemail.deliveries.filter(kind=Delivery.Kind.SHARED).exclude(
            status=Delivery.Status.SKIPPED).count()

    @admin.display(description=_("raisons"))
    def reasons_display(self, obj):
        return _reasons_html(obj.reasons)

    @admin.display(description=_("faits et réglages"))
    def facts_display(self, obj):
        return format_html("<ul>{}</ul>", format_html_join(
            "", "<li><code>{}</code> = {}</li>", sorted(obj.facts.items())))

    @admin.display(description=_("candidats écartés"))
    def excluded_display(self, obj):
        if not obj.excluded:
            return "—"
        return format_html("<ul>{}</ul>", format_html_join(
            "", "<li>fiche {} · <code>{}</code> {}</li>",
            ((e["listing_id"], e["code"], e["text"]) for e in obj.excluded)))


@admin.register(ModerationItem)
class ModerationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Shareable messages under the confidence threshold, waiting for an operator."""

    change_form_template = "admin/routing/moderationitem/change_form.html"
    list_display = ["reference", "created_at", "metier", "intent", "confidence"]
    list_select_related = ["voicemail__metier"]
    actions = ["approve", "reject"]
    fields = ["reference", "created_at", "metier", "intent", "confidence", "urgency",
              "reasons_display", "redacted_text"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).filter(moderation=RoutingDecision.Moderation.PENDING)

    @admin.display(description=_("message"))
    def reference(self, obj):
        return obj.voicemail.reference

    @admin.display(description=_("métier"))
    def metier(self, obj):
        return obj.voicemail.metier or "—"

    @admin.display(description=_("intention"))
    def intent(self, obj):
        return obj.voicemail.intent

    @admin.display(description=_("confiance"))
    def confidence(self, obj):
        c = obj.voicemail.confidence
        return "—" if c is None else f"{c:.2f}"

    @admin.display(description=_("urgence"))
    def urgency(self, obj):
        return obj.voicemail.urgency

    @admin.display(description=_("raisons"))
    def reasons_display(self, obj):
        return _reasons_html(obj.reasons)

    @admin.display(description=_("texte anonymisé"))
    def redacted_text(self, obj):
        return obj.voicemail.redacted_text or "—"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and request.method == "POST" and self.has_change_permission(request):
            if "_approve" in request.POST:
                self._apply(request, [obj], approve=True)
                return HttpResponseRedirect(reverse("admin:routing_moderationitem_changelist"))
            if "_reject" in request.POST:
                self._apply(request, [obj], approve=False)
                return HttpResponseRedirect(reverse("admin:routing_moderationitem_changelist"))
        if obj is not None and request.method == "GET":
            audit.record(actor=audit.Actor.operator(request.user), action=audit.READ_REDACTED,
                         voicemail=obj.voicemail, detail={"via": "admin-moderation"})
        extra_context = {**(extra_context or {}), "show_save": False,
                         "show_save_and_continue": False, "moderation": True}
        return super().change_view(request, object_id, form_url, extra_context)

    def _apply(self, request, items, approve: bool):
        done = 0
        for item in items:
            try:
                if approve:
                    services.approve_moderation(item, request.user)
                else:
                    services.reject_moderation(item, request.user)
                done += 1
            except services.ModerationError as exc:
                self.message_user(request, f"{item.voicemail.reference} : {exc}", messages.ERROR)
        if done:
            text = (_("%(n)d message(s) partagé(s).") if approve
                    else _("%(n)d message(s) gardé(s) pour le seul destinataire appelé."))
            self.message_user(request, text % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Approuver le partage"), permissions=["change"])
    def approve(self, request, queryset):
        self._apply(request, list(queryset), approve=True)

    @admin.action(description=_("Refuser le partage"), permissions=["change"])
    def reject(self, request, queryset):
        self._apply(request, list(queryset), approve=False)

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("routing.change_routingdecision")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("routing.view_routingdecision") or \
            self.has_change_permission(request, obj)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["short_id", "reference", "listing", "kind", "rank", "distance",
                    "status", "channel", "attempts", "sent_at", "first_opened_at",
                    "handled_at", "error_excerpt"]
    list_filter = ["status", "kind", "channel", "created_at"]
    search_fields = ["voicemail__reference", "listing__establishment__name", "email"]
    list_select_related = ["voicemail", "listing__establishment"]
    actions = ["resend"]
    exclude = ["reason"]
    readonly_fields = ["reason_text"]

    @admin.display(description="id")
    def short_id(self, obj):
        return str(obj.pk)[:8]

    @admin.display(description=_("message"), ordering="voicemail__reference")
    def reference(self, obj):
        return obj.voicemail.reference

    @admin.display(description=_("distance"), ordering="distance_km")
    def distance(self, obj):
        return "—" if obj.distance_km is None else f"{obj.distance_km:.1f} km"

    @admin.display(description=_("dernière erreur"))
    def error_excerpt(self, obj):
        return obj.last_error[:80]

    @admin.display(description=_("raison"))
    def reason_text(self, obj):
        return obj.reason.get("text", "")

    @admin.action(description=_("Renvoyer les notifications en échec"),
                  permissions=["resend"])
    def resend(self, request, queryset):
        n = sum(1 for d in queryset.filter(status=Delivery.Status.FAILED)
                if notifications.resend(d, request.user))
        self.message_user(request, _("%(n)d notification(s) renvoyée(s).") % {"n": n},
                          messages.SUCCESS if n else messages.WARNING)

    def has_resend_permission(self, request):
        return request.user.has_perm("routing.change_delivery")


@admin.register(Digest)
class DigestAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["day", "email", "professional", "status", "attempts", "sent_at"]
    list_filter = ["status", "day"]


@admin.register(CallerReport)
class CallerReportAdmin(admin.ModelAdmin):
    list_display = ["professional", "hash_excerpt", "reason", "voicemail_reference",
                    "created_at"]
    search_fields = ["voicemail_reference", "professional__user__email"]
    readonly_fields = ["professional", "caller_hash", "reason", "voicemail_reference",
                       "created_at"]

    def has_add_permission(self, request, obj=None):
        return False  # reports come from professionals (the number is only hashed)

    @admin.display(description=_("appelant (empreinte)"))
    def hash_excerpt(self, obj):
        return obj.caller_hash[:12] + "…"


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "kind", "predicted_metier", "suggested_metier", "delivery",
                    "comment"]
    list_filter = ["kind", "predicted_metier"]
