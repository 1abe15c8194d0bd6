"""What the directory says about an establishment, for pages and the API."""

from dataclasses import dataclass
from functools import cache

from django.core.exceptions import ObjectDoesNotExist
from django.db import connection
from django.utils.translation import gettext as _

from .reference import default_metiers_by_naf, metier_entries
from .sirene import format_siret


@cache
def _metiers() -> dict[str, dict]:
    return {e["slug"]: e for e in metier_entries()}


@cache
def naf_labels() -> dict[str, str]:
    from .models import NafCode

    return dict(NafCode.objects.values_list("code", "label"))


def claimed_listing(establishment):
    """The approved Listing of an establishment, or None."""
    try:
        listing = establishment.listing
    except ObjectDoesNotExist:
        return None
    return listing if listing.claimed else None


def tracking_number(listing) -> str | None:
    """The E.164 tracking number of a claimed listing (calls app), or None."""
    if listing is None:
        return None
    try:
        number = listing.tracking_number
    except (ObjectDoesNotExist, AttributeError):
        return None
    if number is None or getattr(number, "released_at", None):
        return None
    return number.e164


@dataclass
class Facts:
    establishment: object
    claimed: bool
    metiers: list[dict]  # métier entries (slug, label…)
    tracking_number: str | None
    naf_label: str

    @property
    def metier_slugs(self) -> list[str]:
        return [m["slug"] for m in self.metiers]

    @property
    def named(self) -> bool:
        """Whether SIRENE gives a trade name (otherwise ``name`` is the NAF label)."""
        return self.establishment.has_trade_name

    @property
    def title(self) -> str:
        """The name to show: the trade name, or the trade and "nom non diffusé" (the NAF
        label is not a business name: "Travaux d'installation d'eau…" misleads)."""
        if self.named:
            return self.establishment.name
        trade = self.metiers[0]["label"] if self.metiers else self.naf_label
        trade = (trade[:1].upper() + trade[1:]) if trade else _("Établissement")
        return _("%(trade)s — nom non diffusé") % {"trade": trade}

    @property
    def reachable(self) -> bool:
        """A caller can reach it through Relais (claimed, with a tracking number)."""
        return self.tracking_number is not None

    @property
    def address(self) -> str:
        """The street address, never for partially diffusible establishments nor for
        those without a name (commune only)."""
        e = self.establishment
        return e.address if e.shows_address and self.named else ""

    @property
    def siret_display(self) -> str:
        return format_siret(self.establishment.siret)


def facts(establishment) -> Facts:
    return _facts(establishment, claimed_listing(establishment))


def _facts(establishment, listing) -> Facts:
    """The facts of an establishment whose claimed listing is ``listing`` (or None)."""
    if listing is not None:
        slugs = [m.slug for m in listing.metiers.all()]
        order = {e["slug"]: i for i, e in enumerate(metier_entries())}
        slugs.sort(key=lambda s: order.get(s, 1_000))
    else:
        slugs = list(default_metiers_by_naf().get(establishment.naf_code, ()))
    known = _metiers()
    label = naf_labels().get(establishment.naf_code, "")
    if not label and establishment.naf_code:
        label = f"{establishment.naf_code} ({establishment.naf_nomenclature or 'NAF'})"
    return Facts(
        establishment=establishment,
        claimed=listing is not None,
        metiers=[known[s] for s in slugs if s in known],
        tracking_number=tracking_number(listing),
        naf_label=label,
    )


def display_name(establishment) -> str:
    """The honest name of an establishment (:attr:`Facts.title`): never the NAF label as
    if it were a business name."""
    return str(facts(establishment).title)


def reading_order(hits_with_facts: list) -> list:
    """A page of search results for a caller: reachable professionals first (claimed,
    with a tracking number), then named establishments, then the others; nearest first
    within each group (the input's order)."""
    return sorted(hits_with_facts, key=lambda hf: (not hf[1].reachable, not hf[1].named))


def payload(establishment, distance_km: float | None = None) -> dict:
    """The JSON representation of an establishment (API v1)."""
    commune = establishment.commune
    return _payload(establishment, facts(establishment), commune.name if commune else None,
                    distance_km)


def _payload(establishment, f: Facts, commune_name: str | None,
             distance_km: float | None) -> dict:
    data = {
        "siret": establishment.siret,
        "name": str(f.title),
        "named": f.named,
        "naf": establishment.naf_code or None,
        "metiers": f.metier_slugs,
        "commune": commune_name,
        "postal_code": establishment.postal_code or None,
        "latitude": round(establishment.latitude, 6) if establishment.latitude is not None
        else None,
        "longitude": round(establishment.longitude, 6) if establishment.longitude is not None
        else None,
        "active": establishment.active,
        "claimed": f.claimed,
        "tracking_number": f.tracking_number,
    }
    if distance_km is not None:
        data["distance_km"] = round(distance_km, 2)
    return data


# --- A page of search results for the API, without the ORM in the common case ---------------

# What a search result shows of an establishment, and whether it has a listing at all
# (claimed or not: the pros app's reverse relation).
_ROW_FIELDS = ("siret", "name", "search_name", "naf_code", "naf_nomenclature",
               "commune__name", "postal_code", "latitude", "longitude", "active", "listing__pk")


class _Row:
    """An establishment read as a row (:func:`payloads`): the attributes :class:`Facts`
    and :func:`_payload` read, and no listing."""

    __slots__ = ("active", "commune_name", "latitude", "longitude", "naf_code",
                 "naf_nomenclature", "name", "postal_code", "search_name", "siret")

    def __init__(self, row: tuple):
        (self.siret, self.name, self.search_name, self.naf_code, self.naf_nomenclature,
         self.commune_name, self.postal_code, self.latitude, self.longitude, active) = row[:10]
        self.active = bool(active)

    @property
    def has_trade_name(self) -> bool:
        return bool(self.search_name)


@cache
def _page_sql(count: int) -> str:
    """The SQL the ORM writes for ``count`` establishments' :data:`_ROW_FIELDS`, written
    once per page length (building a query costs the ORM more than running it)."""
    from .models import Establishment

    placeholders = [f"{i:014d}" for i in range(count)]
    query = (Establishment.objects.filter(siret__in=placeholders).order_by()
             .values_list(*_ROW_FIELDS).query)
    sql, params = query.sql_with_params()
    if list(params) != placeholders:  # the SIRETs must be the only parameters, in order
        raise RuntimeError(f"unexpected parameters in the search page query: {params!r}")
    return sql


def payloads(ranked: list[tuple[float, str]]) -> list[dict]:
    """:func:`payload` of each (distance, SIRET) of a page of search results, in order.

    One precompiled query reads the page's establishments as rows; only those with a
    listing (claimed or pending: few) are loaded through the ORM and :func:`payload`.
    An establishment gone since the ranking is left out.
    """
    from .models import Establishment

    if not ranked:
        return []
    sirets = list(dict.fromkeys(siret for _d, siret in ranked))
    with connection.cursor() as cursor:
        cursor.execute(_page_sql(len(sirets)), sirets)
        rows = {row[0]: row for row in cursor.fetchall()}
    listed = [siret for siret, row in rows.items() if row[10] is not None]
    full = {e.siret: e for e in Establishment.objects.filter(siret__in=listed).select_related(
        "commune", "listing", "listing__tracking_number"
    ).prefetch_related("listing__metiers")} if listed else {}
    out = []
    for distance, siret in ranked:
        if siret in full:
            out.append(payload(full[siret], distance))
        elif siret in rows:
            row = _Row(rows[siret])
            out.append(_payload(row, _facts(row, None), row.commune_name, distance))
    return out
