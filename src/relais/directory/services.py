"""What the directory says about an establishment, for pages and the API."""

from dataclasses import dataclass
from functools import cache

from django.core.exceptions import ObjectDoesNotExist
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
    listing = claimed_listing(establishment)
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
    f = facts(establishment)
    commune = establishment.commune
    data = {
        "siret": establishment.siret,
        "name": str(f.title),
        "named": f.named,
        "naf": establishment.naf_code or None,
        "metiers": f.metier_slugs,
        "commune": commune.name if commune else None,
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
