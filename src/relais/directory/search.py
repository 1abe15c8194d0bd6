"""Search the directory: "quoi" (a métier or words of a trade name) near "où".

The same function serves the search page, the JSON API and the benchmark.

How it stays fast on tens of millions of rows without a geographic extension:

* a métier maps to NAF sous-classes; the index (naf_code, latitude, longitude)
  answers "these codes in this bounding box" with a range scan on a latitude band,
  longitude checked in the index;
* free text looks words of trade names up in ``NameToken``, whose key (token,
  latitude, longitude, siret) answers "this word in this box" from the index; a word's
  beginning ("plomb") is tried when the whole word finds nothing;
* candidates are ranked by haversine distance in Python, in growing rings (2, 5, 10,
  20, 50… km) until the page is full, so dense cities read few rows.

Claimed listings follow their professional's choice of métiers: a listing shows up for
a métier it chose even under another NAF code, and not for one it dropped. The
directory knows no listing: the pros app tells it through :func:`set_metier_overrides`
(in ProsConfig.ready()).
"""

import bisect
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache

from django.db import connection
from django.utils.translation import gettext as _

from .reference import default_metiers_by_naf, metier_entries, normalise

PAGE_SIZE = 20
MAX_PAGE = 50
DEFAULT_RADIUS_KM = 50.0
MAX_RADIUS_KM = 200.0
MAX_TEXT = 200
RINGS_KM = (2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
EARTH_RADIUS_KM = 6371.0088

# Words that say nothing about what or whom people look for.
QUERY_STOPWORDS = frozenset(
    "a au aux de des du d l la le les un une pour pas cher chere urgent urgence urgente "
    "proche pres de mon ma mes en et sur dans vers bon bonne meilleur meilleure "
    "professionnel artisan entreprise societe depannage".split()
)


# What professionals decided about a métier: ``overrides(slug)`` returns two functions,
# ``opted_out(sirets) -> set of those SIRETs whose claimed listing dropped the métier`` and
# ``opted_in(box) -> [(siret, latitude, longitude)] of claimed listings that chose it in
# the bounding box``. Called once per search with a métier.
MetierOverrides = Callable[[str], tuple[Callable[[list[str]], set[str]],
                                        Callable[[tuple], list[tuple[str, float, float]]]]]


def _no_overrides(slug: str):
    """Nobody claimed anything: every establishment counts for its NAF code's métiers."""
    return (lambda sirets: set()), (lambda box: [])


_metier_overrides: MetierOverrides = _no_overrides


def set_metier_overrides(func: MetierOverrides) -> None:
    """Install the provider of claimed listings' métier choices (the pros app does)."""
    global _metier_overrides
    _metier_overrides = func


class SearchError(ValueError):
    """Unusable search input; ``message`` is shown to people (French).

    ``invalid`` is true for malformed values (not a number, out of range, too long):
    the API answers 400. Otherwise the input is well-formed but leads nowhere (nothing
    to look for, an unknown place): the API answers an empty page with the message.
    """

    def __init__(self, message: str, field: str = "", invalid: bool = True):
        super().__init__(message)
        self.message = message
        self.field = field
        self.invalid = invalid


@dataclass(frozen=True)
class Place:
    label: str
    latitude: float
    longitude: float
    commune_code: str = ""


@dataclass(frozen=True)
class Query:
    quoi: str
    place: Place
    radius_km: float = DEFAULT_RADIUS_KM
    page: int = 1


@dataclass
class Hit:
    establishment: object
    distance_km: float


@dataclass
class Result:
    query: Query
    hits: list[Hit] = field(default_factory=list)
    has_next: bool = False
    metier: dict | None = None  # the métier entry searched for, if any
    name_words: list[str] = field(default_factory=list)  # words matched against names
    ranked: list[tuple[float, str]] = field(default_factory=list)  # (km, SIRET) of the page

    @property
    def page(self) -> int:
        return self.query.page

    @property
    def has_previous(self) -> bool:
        return self.query.page > 1


# --- Geometry -------------------------------------------------------------------------


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """(min lat, max lat, min lon, max lon) of a circle, slightly generous."""
    dlat = radius_km / 110.574 * 1.01
    coslat = max(math.cos(math.radians(min(abs(lat) + dlat, 89.9))), 0.01)
    dlon = min(radius_km / (111.320 * coslat) * 1.01, 180.0)
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


# --- Reading the input -----------------------------------------------------------------


def _text(params: Mapping, name: str) -> str:
    value = params.get(name) or ""
    if not isinstance(value, str):
        value = str(value)
    if len(value) > MAX_TEXT:
        raise SearchError(
            _("« %(field)s » est trop long (%(max)d caractères au plus).")
            % {"field": name, "max": MAX_TEXT}, name,
        )
    return "".join(ch for ch in value if ch.isprintable()).strip()


def _number(params: Mapping, name: str, low: float, high: float) -> float | None:
    raw = params.get(name)
    raw = raw.strip() if isinstance(raw, str) else raw
    if raw in (None, ""):
        return None
    try:
        value = float(str(raw).replace(",", ".")[:40])
    except ValueError:
        raise SearchError(_("« %(field)s » doit être un nombre.") % {"field": name}, name) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise SearchError(
            _("« %(field)s » doit être compris entre %(low)g et %(high)g.")
            % {"field": name, "low": low, "high": high}, name,
        )
    return value


def parse(params: Mapping) -> Query:
    """Check search parameters (quoi, ou, lat, lon, radius_km, page) → Query.

    Raises SearchError with a French message for anything unusable.
    """
    quoi = _text(params, "quoi")
    ou = _text(params, "ou")
    lat = _number(params, "lat", -90, 90)
    lon = _number(params, "lon", -180, 180)
    radius = _number(params, "radius_km", 0.1, MAX_RADIUS_KM)
    page_raw = params.get("page") or "1"
    page_raw = page_raw if isinstance(page_raw, str) else str(page_raw)
    page_raw = page_raw.strip()
    if not (page_raw.isascii() and page_raw.isdigit()) or not 1 <= int(page_raw[:6]) <= MAX_PAGE:
        raise SearchError(
            _("La page doit être un nombre entre 1 et %(max)d.") % {"max": MAX_PAGE}, "page"
        )
    page = int(page_raw)
    if not quoi:  # missing: malformed; only blanks or control characters: nothing to do
        raise SearchError(_("Indiquez ce que vous cherchez (un métier ou un nom)."), "quoi",
                          invalid=not params.get("quoi"))
    if (lat is None) != (lon is None):
        raise SearchError(_("Donnez à la fois la latitude et la longitude."), "lat",
                          invalid=False)
    if lat is not None:
        place = Place(_("votre position"), lat, lon)
    elif ou:
        place = resolve_place(ou)
        if place is None:
            raise SearchError(
                _("Lieu introuvable : « %(ou)s ». Essayez une commune ou un code postal.")
                % {"ou": ou[:60]}, "ou", invalid=False,
            )
    else:
        raise SearchError(_("Indiquez où chercher (une commune ou un code postal)."), "ou",
                          invalid=False)
    return Query(quoi=quoi, place=place, radius_km=radius or DEFAULT_RADIUS_KM, page=page)


# --- Places ------------------------------------------------------------------------------

_LATLON = re.compile(r"^\s*(-?\d{1,2}(?:[.]\d+)?)\s*[,; ]\s*(-?\d{1,3}(?:[.]\d+)?)\s*$")


@dataclass(frozen=True)
class _Commune:
    code: str
    name: str
    kind: str
    departement: str
    postal_codes: tuple[str, ...]
    population: int
    latitude: float
    longitude: float


@cache
def _communes() -> dict:
    from .models import Commune

    by_name: dict[str, list[_Commune]] = {}
    by_postal: dict[str, list[_Commune]] = {}
    by_code: dict[str, _Commune] = {}
    for code, name, search_name, kind, dep, postal, pop, lat, lon in Commune.objects.values_list(
        "code_insee", "name", "search_name", "kind", "departement", "postal_codes",
        "population", "latitude", "longitude",
    ).iterator(chunk_size=5000):
        c = _Commune(code, name, kind, dep, tuple(postal.split()), pop, lat, lon)
        by_code[code] = c
        keys = {search_name}
        if kind == "arrondissement-municipal":  # "paris 11e arrondissement" → "paris 11"
            words = search_name.split()
            keys |= {f"{words[0]} {words[1]}", f"{words[0]} {words[1].rstrip('erm')}"}
        for key in keys:
            by_name.setdefault(key, []).append(c)
        for p in c.postal_codes:
            by_postal.setdefault(p, []).append(c)
    for group in by_name.values():
        group.sort(key=lambda c: -c.population)
    for group in by_postal.values():  # the most specific commune first
        group.sort(key=lambda c: (c.kind != "arrondissement-municipal", len(c.postal_codes),
                                  -c.population))
    return {"by_name": by_name, "by_postal": by_postal, "by_code": by_code,
            "names": sorted(by_name)}


def clear_caches() -> None:
    _communes.cache_clear()
    _metier_terms.cache_clear()


def _place(c: _Commune, postal: str = "") -> Place:
    label = f"{c.name} ({postal or c.departement})"
    return Place(label, c.latitude, c.longitude, c.code)


def resolve_place(text: str) -> Place | None:
    """A commune name, a postal code, an INSEE code or "lat, lon" → Place."""
    m = _LATLON.match(text)
    if m:
        lat, lon = float(m.group(1)), float(m.group(2))
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return Place(f"{lat:.5f}, {lon:.5f}", lat, lon)
        return None
    index = _communes()
    n = normalise(text)
    if not n:
        return None
    if re.fullmatch(r"\d{5}|2[ab]\d{3}", n):
        if n in index["by_postal"]:
            return _place(index["by_postal"][n][0], n)
        code = n.upper()
        return _place(index["by_code"][code]) if code in index["by_code"] else None
    words = n.split()
    departement = ""
    candidates = index["by_name"].get(n)
    if not candidates and len(words) > 1 and re.fullmatch(r"\d{2,3}|2[ab]", words[-1]):
        departement, n = words[-1].upper(), " ".join(words[:-1])  # "Saint-Denis 974"
        candidates = index["by_name"].get(n)
    if not candidates:  # names that start with the text, most populous first
        names = index["names"]
        i = bisect.bisect_left(names, n)
        prefixed = []
        while i < len(names) and names[i].startswith(n) and len(prefixed) < 200:
            prefixed += index["by_name"][names[i]]
            i += 1
        candidates = sorted(prefixed, key=lambda c: -c.population)
    if departement:
        candidates = [c for c in candidates if c.departement == departement
                      or c.departement.lstrip("0") == departement.lstrip("0")]
    return _place(candidates[0]) if candidates else None


# --- Métiers ------------------------------------------------------------------------------


def _singular(words: list[str]) -> list[str]:
    return [w[:-1] if len(w) > 3 and w[-1] in "sx" else w for w in words]


@cache
def _metier_terms() -> tuple[dict[str, dict], list[tuple[str, dict]], list[tuple[str, dict]]]:
    """(exact term → métier, names longest first, phrases longest first)."""
    exact: dict[str, dict] = {}
    phrases: dict[str, dict] = {}
    for entry in metier_entries():
        for term in [entry["slug"].replace("-", " "), entry["label"], *entry["synonyms"]]:
            key = " ".join(_singular(normalise(term).split()))
            exact.setdefault(key, entry)
        for phrase in entry["phrases"]:
            key = " ".join(_singular(normalise(phrase).split()))
            phrases.setdefault(key, entry)
    by_length = sorted(exact.items(), key=lambda kv: -len(kv[0]))
    phrase_list = sorted(phrases.items(), key=lambda kv: -len(kv[0]))
    return exact, by_length, phrase_list


def metier_by_slug(slug: str) -> dict | None:
    return next((e for e in metier_entries() if e["slug"] == slug), None)


def match_metier(text: str) -> tuple[dict | None, list[str]]:
    """The métier a query names, and its other words (to match trade names).

    "plombier" → plombier; "plombiers à Créteil" → plombier; "fuite d'eau" → plombier
    (a key phrase); "Plomberie Dupont" → plombier + ["dupont"]; "Dupont" → None.
    """
    words = _singular(normalise(text).split())
    if not words:
        return None, []
    q = " ".join(words)
    exact, terms, phrases = _metier_terms()
    if q in exact:
        return exact[q], []
    padded = f" {q} "
    for term, entry in terms:
        if f" {term} " in padded:
            rest = padded.replace(f" {term} ", " ", 1).split()
            return entry, [w for w in rest if w not in QUERY_STOPWORDS and len(w) > 1]
    for phrase, entry in phrases:
        if f" {phrase} " in padded:
            return entry, []
    return None, []


def name_words(text: str) -> list[str]:
    """Words of a query to look up in trade names (letters and digits only)."""
    from .importer import NAME_STOPWORDS

    words = re.sub(r"[^a-z0-9 ]", " ", normalise(text)).split()
    out = [w[:32] for w in words if len(w) > 1 and w not in NAME_STOPWORDS
           and w not in QUERY_STOPWORDS]
    return list(dict.fromkeys(out))[:6]


# --- Running a search ------------------------------------------------------------------------


def _rows(sql: str, params: list) -> list[tuple[str, float, float]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _by_naf(naf_codes, box) -> list[tuple[str, float, float]]:
    marks = ", ".join(["%s"] * len(naf_codes))
    return _rows(
        "SELECT siret, latitude, longitude FROM directory_establishment "  # noqa: S608
        f"WHERE naf_code IN ({marks}) AND latitude BETWEEN %s AND %s "
        "AND longitude BETWEEN %s AND %s AND active = %s",
        [*naf_codes, *box, True],
    )


def _by_name(words: list[str], box, naf_codes=None, prefix=False):
    """Active establishments in the box whose trade name has all the words.

    The longest word drives the lookup in NameToken: an exact word (index seek on
    token, then the latitude band) or, with ``prefix``, every word starting so.
    """
    lead = max(words, key=len)
    if prefix:
        upper = lead[:-1] + chr(ord(lead[-1]) + 1)
        where, params = "t.token >= %s AND t.token < %s", [lead, upper]
    else:
        where, params = "t.token = %s", [lead]
    sql = (
        "SELECT e.siret, e.latitude, e.longitude FROM directory_nametoken t "  # noqa: S608
        "JOIN directory_establishment e ON e.siret = t.siret "
        f"WHERE {where} AND t.latitude BETWEEN %s AND %s AND t.longitude BETWEEN %s AND %s "
        "AND e.active = %s"
    )
    params += [*box, True]
    for word in words:
        if word != lead:  # every other word must appear in the name too
            sql += " AND e.search_name LIKE %s"
            params.append(f"%{word}%")
    if naf_codes:
        sql += f" AND e.naf_code IN ({', '.join(['%s'] * len(naf_codes))})"
        params += list(naf_codes)
    return list(dict.fromkeys(_rows(sql, params)))


def _ring_search(fetch, lat, lon, radius_km, needed) -> list[tuple[float, str]]:
    """Rank ``fetch(box)`` rows in growing rings until ``needed`` are found."""
    ranked: list[tuple[float, str]] = []
    for radius in [r for r in RINGS_KM if r < radius_km] + [radius_km]:
        ranked = _rank(fetch(bounding_box(lat, lon, radius)), lat, lon, radius)
        if len(ranked) >= needed:
            break
    return ranked


def _without(ranked: list[tuple[float, str]], opted_out, needed: int) -> list[tuple[float, str]]:
    """The ranking up to ``needed`` places, minus listings whose professional opted out."""
    out: list[tuple[float, str]] = []
    start = 0
    while len(out) < needed and start < len(ranked):
        window = ranked[start:start + needed * 2]
        dropped = opted_out([s for _d, s in window])
        out += [x for x in window if x[1] not in dropped]
        start += len(window)
    return out if start >= len(ranked) else out + ranked[start:]


def _rank(rows, lat, lon, radius_km) -> list[tuple[float, str]]:
    out = []
    for siret, elat, elon in rows:
        d = haversine_km(lat, lon, elat, elon)
        if d <= radius_km:
            out.append((d, siret))
    out.sort()
    return out


def search_naf_codes(metier: dict) -> list[str]:
    """NAF codes whose unclaimed establishments count as this métier.

    Only the codes the métier is a default for: "organisateur de brocantes" is no
    default of 82.30Z (mostly trade-show and event agencies), so only professionals
    who chose it show up for it.
    """
    defaults = default_metiers_by_naf()
    return [c for c in metier["naf_codes"] if metier["slug"] in defaults.get(c, ())]


def search(query: Query, *, load: bool = True) -> Result:
    """Run a parsed query: one page of establishments, nearest first.

    ``result.ranked`` holds the page's (distance, SIRET); ``load=False`` leaves
    ``result.hits`` empty for callers that read the page their own way (the API:
    :func:`relais.directory.services.payloads`).
    """
    result = Result(query=query)
    lat, lon = query.place.latitude, query.place.longitude
    needed = query.page * PAGE_SIZE + 1
    metier, rest = match_metier(query.quoi)
    result.metier = metier

    if metier is None:
        words = name_words(query.quoi)
        result.name_words = words
        if not words:
            return result
        ranked = _ring_search(lambda box: _by_name(words, box), lat, lon, query.radius_km,
                              needed)
        if not ranked and len(max(words, key=len)) >= 3:  # "plomb" → "plomberie"
            ranked = _ring_search(lambda box: _by_name(words, box, prefix=True), lat, lon,
                                  query.radius_km, needed)
    else:
        naf_codes = search_naf_codes(metier)
        opted_out, opted_in = _metier_overrides(metier["slug"])
        rings = [r for r in RINGS_KM if r < query.radius_km] + [query.radius_km]
        ranked = []
        if rest and naf_codes:  # "plomberie dupont": the métier's establishments named so
            box = bounding_box(lat, lon, query.radius_km)
            ranked = _without(_rank(_by_name(rest, box, naf_codes, prefix=True), lat, lon,
                                    query.radius_km), opted_out, needed)
            if ranked:
                result.name_words = rest
        if not ranked:
            for i, radius in enumerate(rings):
                box = bounding_box(lat, lon, radius)
                rows = _by_naf(naf_codes, box) if naf_codes else []
                in_ring = _rank(rows, lat, lon, radius)
                chosen = opted_in(box)
                if len(in_ring) + len(chosen) < needed and i < len(rings) - 1:
                    continue  # cannot fill the page: the next ring, without asking who opted out
                ranked = _without(in_ring, opted_out, needed)
                if chosen:
                    seen = {s for _d, s in ranked}
                    ranked = sorted(ranked + [x for x in _rank(chosen, lat, lon, radius)
                                              if x[1] not in seen])
                if len(ranked) >= needed:
                    break

    start = (query.page - 1) * PAGE_SIZE
    page = ranked[start:start + PAGE_SIZE]
    result.has_next = len(ranked) > start + PAGE_SIZE
    result.ranked = page
    if load:
        result.hits = _load(page)
    return result


def _load(page: list[tuple[float, str]]) -> list[Hit]:
    from .models import Establishment

    sirets = [siret for _d, siret in page]
    objects = Establishment.objects.filter(siret__in=sirets).select_related(
        "commune", "listing", "listing__tracking_number"
    ).prefetch_related("listing__metiers")
    by_siret = {e.siret: e for e in objects}
    return [Hit(by_siret[s], round(d, 2)) for d, s in page if s in by_siret]
