from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from .models import Commune, Establishment, Metier, NafCode


class CappedCountPaginator(Paginator):
    """Counts at most CAP rows: no COUNT(*) over tens of millions of establishments."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.CAP + 1].count()


@admin.register(Establishment)
class EstablishmentAdmin(admin.ModelAdmin):
    """Usable with tens of millions of rows: exact-key search, no full count."""

    list_display = ["siret", "name", "naf_code", "commune", "postal_code", "active", "diffusion"]
    list_filter = ["active", "diffusion", "geo_source", "naf_nomenclature"]
    search_fields = ["=siret"]  # the search box is read by get_search_results below
    search_help_text = "SIRET (14 chiffres) ou SIREN (9 chiffres) exact."
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_select_related = ["commune"]
    raw_id_fields = ["commune"]
    readonly_fields = ["created_at", "updated_at", "search_name"]
    list_per_page = 50

    def get_search_results(self, request, queryset, search_term):
        """A SIRET exactly, or the establishments of a SIREN: its SIRETs are the SIREN
        and five digits, a range of the primary key (no index on siren, no OR)."""
        term = "".join(search_term.split())
        if not term:
            return queryset, False
        if term.isdigit() and len(term) == 14:
            return queryset.filter(siret=term), False
        if term.isdigit() and len(term) == 9:
            return queryset.filter(siret__gte=term + "00000", siret__lte=term + "99999"), False
        return queryset.none(), False


@admin.register(Commune)
class CommuneAdmin(admin.ModelAdmin):
    list_display = ["code_insee", "name", "departement", "postal_codes", "population"]
    list_filter = ["kind", "region"]
    search_fields = ["=code_insee", "name", "postal_codes"]
    show_full_result_count = False


@admin.register(NafCode)
class NafCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "level", "label"]
    list_filter = ["level"]
    search_fields = ["code", "label"]
    raw_id_fields = ["parent"]


@admin.register(Metier)
class MetierAdmin(admin.ModelAdmin):
    """The taxonomy lives in data/metiers.toml; edits here are overwritten when it changes."""

    list_display = ["slug", "label", "naf_codes", "default_for_naf", "shareable"]
    list_filter = ["default_for_naf", "shareable"]
    search_fields = ["slug", "label"]
