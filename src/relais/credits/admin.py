"""Admin: the credits ledger (read-only; the operator adds grants) and the unlocks.

The professionals' list (registered by :mod:`relais.pros.admin`) is registered again here
with one more column, the credit balance, which only this app knows how to compute.
"""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from relais.core.admin import ReadOnlyMixin
from relais.pros.admin import ProfessionalAdmin
from relais.pros.models import Professional

from . import services
from .models import CreditEntry, Unlock


class GrantForm(forms.ModelForm):
    """The only way to write in the ledger from the admin: a grant of credits."""

    amount = forms.IntegerField(label=_("Crédits à accorder"), min_value=1, max_value=100_000)

    class Meta:
        model = CreditEntry
        fields = ["professional", "amount", "note"]


@admin.register(CreditEntry)
class CreditEntryAdmin(admin.ModelAdmin):
    """The ledger: entries are never changed nor deleted; "add" grants credits."""

    list_display = ["created_at", "professional", "kind", "amount", "note", "created_by"]
    list_filter = ["kind", "created_at"]
    search_fields = ["professional__user__email", "note", "external_id"]
    list_select_related = ["professional__user", "created_by"]
    raw_id_fields = ["professional"]
    readonly_fields = ["created_at", "professional", "kind", "amount", "unlock", "created_by",
                       "note", "external_id", "balance"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = GrantForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["professional", "amount", "note"]
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    @admin.display(description=_("solde actuel du professionnel"))
    def balance(self, obj):
        return services.balance(obj.professional)

    def save_model(self, request, obj, form, change):
        if change:  # never reached: no change permission
            raise PermissionError("the credits ledger is append-only")
        entry = services.grant(form.cleaned_data["professional"], form.cleaned_data["amount"],
                               by=request.user, note=form.cleaned_data.get("note", ""))
        obj.pk = entry.pk
        obj._state.adding = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Unlock)
class UnlockAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "voicemail_reference", "listing_name", "professional", "cost",
                    "shown_at", "refunded_at"]
    list_filter = ["created_at", ("shown_at", admin.EmptyFieldListFilter),
                   ("refunded_at", admin.EmptyFieldListFilter)]
    search_fields = ["voicemail_reference", "listing_name", "professional__user__email"]
    list_select_related = ["professional__user"]


class ProfessionalWithBalanceAdmin(ProfessionalAdmin):
    list_display = [*ProfessionalAdmin.list_display, "credit_balance"]

    @admin.display(description=_("crédits"))
    def credit_balance(self, obj):
        return services.balance(obj)  # the ledger sums; nothing stored


admin.site.unregister(Professional)
admin.site.register(Professional, ProfessionalWithBalanceAdmin)
