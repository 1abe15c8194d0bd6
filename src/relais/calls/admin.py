from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from relais.core import audit, phones

from . import numbers, prompts
from .models import BlockedCaller, Call, Prompt, TrackingNumber


class E164FormMixin:
    """Operators type numbers as they like (06 12…, +33 6…); stored E.164."""

    def clean_e164(self):
        try:
            return phones.to_e164(self.cleaned_data["e164"])
        except phones.NumberError as exc:
            raise forms.ValidationError(_("Ce numéro n'est pas valide.")) from exc


class TrackingNumberForm(E164FormMixin, forms.ModelForm):
    class Meta:
        model = TrackingNumber
        fields = ["e164", "listing"]

    def clean_listing(self):
        listing = self.cleaned_data.get("listing")
        if listing is not None and not listing.claimed:
            raise forms.ValidationError(_("Seule une fiche revendiquée reçoit un numéro."))
        return listing


@admin.register(TrackingNumber)
class TrackingNumberAdmin(admin.ModelAdmin):
    form = TrackingNumberForm
    list_display = ["e164", "listing", "assigned_at", "released_at"]
    list_filter = [("listing", admin.EmptyFieldListFilter),
                   ("released_at", admin.EmptyFieldListFilter)]
    search_fields = ["e164", "listing__establishment__name", "listing__establishment__siret"]
    raw_id_fields = ["listing"]
    readonly_fields = ["added_at", "assigned_at", "released_at"]
    actions = ["release_numbers"]

    def save_model(self, request, obj, form, change):
        if "listing" in form.changed_data:
            obj.assigned_at = timezone.now() if obj.listing_id else None
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Libérer les numéros (rendus à l'opérateur)"))
    def release_numbers(self, request, queryset):
        for number in queryset:
            numbers.release(number.e164)
        self.message_user(request, _("%(n)d numéro(s) libéré(s).") % {"n": queryset.count()},
                          messages.SUCCESS)


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    # The caller's number is personal data: on the detail page only, not in lists.
    list_display = ["started_at", "to_e164", "listing", "outcome", "reason", "dial_status"]
    list_filter = ["outcome", "reason", "dial_status"]
    search_fields = ["call_sid", "to_e164"]
    raw_id_fields = ["listing", "tracking_number"]
    readonly_fields = ["call_sid", "tracking_number", "to_e164", "listing", "professional",
                       "caller_e164", "outcome", "dial_status", "dial_duration", "reason",
                       "started_at", "ended_at"]
    actions = ["block_callers"]

    def has_add_permission(self, request):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            call = self.get_object(request, object_id)
            if call is not None and call.caller_e164 and self.has_view_permission(request, call):
                audit.record(actor=audit.Actor.operator(request.user),
                             action=audit.READ_CALLER_NUMBER,
                             voicemail=getattr(call, "voicemail", None),
                             detail={"via": "admin", "call": call.pk})
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Bloquer les appelants de ces appels"))
    def block_callers(self, request, queryset):
        blocked = 0
        for e164 in set(queryset.exclude(caller_e164="").values_list("caller_e164", flat=True)):
            _obj, created = BlockedCaller.objects.get_or_create(
                e164=e164, defaults={"reason": _("bloqué depuis le journal des appels")}
            )
            blocked += created
        self.message_user(request, _("%(n)d appelant(s) bloqué(s).") % {"n": blocked},
                          messages.SUCCESS)


class BlockedCallerForm(E164FormMixin, forms.ModelForm):
    class Meta:
        model = BlockedCaller
        fields = ["e164", "reason"]


@admin.register(BlockedCaller)
class BlockedCallerAdmin(admin.ModelAdmin):
    form = BlockedCallerForm
    list_display = ["e164", "reason", "created_at"]
    search_fields = ["e164", "reason"]
    actions = ["unblock"]

    @admin.action(description=_("Débloquer ces appelants"))
    def unblock(self, request, queryset):
        count, _detail = queryset.delete()
        self.message_user(request, _("%(n)d appelant(s) débloqué(s).") % {"n": count},
                          messages.SUCCESS)


class PromptForm(forms.ModelForm):
    key = forms.ChoiceField(label=_("annonce"), choices=prompts.recordable_keys)

    class Meta:
        model = Prompt
        fields = ["key", "audio", "active"]


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    form = PromptForm
    list_display = ["key", "active", "updated_at"]
