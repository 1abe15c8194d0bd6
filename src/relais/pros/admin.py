from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import services
from .forms import ListingAdminForm
from .models import Listing, Professional


@admin.register(Professional)
class ProfessionalAdmin(admin.ModelAdmin):
    list_display = ["__str__", "email_verified_at", "created_at"]  # credits.admin adds the balance
    list_filter = [("email_verified_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "user__username"]
    raw_id_fields = ["user"]
    list_select_related = ["user"]


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    form = ListingAdminForm
    list_display = ["establishment", "professional", "status", "forward_number", "created_at",
                    "approved_at"]
    list_filter = ["status", "notify", "shared_paused"]
    search_fields = ["=establishment__siret", "professional__user__email"]
    raw_id_fields = ["establishment", "professional"]
    filter_horizontal = ["metiers"]
    list_select_related = ["establishment", "professional__user"]
    readonly_fields = ["created_at", "approved_at"]
    actions = ["approve", "reject"]

    @admin.action(description=_("Approuver les demandes sélectionnées"))
    def approve(self, request, queryset):
        count = services.approve(queryset.select_related("establishment"))
        self.message_user(request, _("%(n)d fiche(s) approuvée(s).") % {"n": count},
                          messages.SUCCESS)

    @admin.action(description=_("Refuser les demandes sélectionnées"))
    def reject(self, request, queryset):
        count = services.reject(queryset)
        self.message_user(request, _("%(n)d fiche(s) refusée(s).") % {"n": count},
                          messages.SUCCESS)
