"""The recipient index: "claimed listings of métier M within R km of P, nearest first".

A portable geographic index, no PostGIS: :class:`~relais.routing.models.RecipientIndex`
holds one row per (eligible listing, métier) with its position and grid cell
(:mod:`relais.routing.geo`), indexed on ``(metier, cell, …)`` with every column the
search reads (an index-only scan on SQLite and PostgreSQL). :func:`nearest` reads the
cells around the point ring by ring, refines by haversine and stops as soon as the
answer is certain — the N-th candidate is closer than any unscanned point can be, or
every point within R has been read. The answer is exact: the same as a scan of every
row (tested against a brute-force reference).

Maintenance: :func:`sync_listings` rewrites the rows of some listings from the live
tables; signals (``relais.routing.signals``) call it on every change that matters
(listing saved or its métiers changed, establishment saved). Bulk updates that send no
signal (``QuerySet.update``, ``bulk_create``, the SIRENE import) must call
:func:`sync_listings` / :func:`sync_establishments`; :func:`reconcile`, a daily job,
repairs anything missed, and :func:`rebuild` recreates the table.
"""

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.db import connection, transaction

from . import geo
from .models import RecipientIndex

logger = logging.getLogger(__name__)

FIRST_RINGS = 1  # the first query reads rings 0..1 (9 cells) at once
MAX_RINGS = 40  # beyond, one range query over the latitude band the radius allows


@dataclass(frozen=True, slots=True)
class Hit:
    listing_id: int
    professional_id: int
    latitude: float
    longitude: float
    service_radius_km: float
    distance_km: float


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _select() -> str:
    table = _q(RecipientIndex._meta.db_table)
    # Identifiers come from the model; values are always parameters.
    return (
        f"SELECT {_q('listing_id')}, {_q('professional_id')}, {_q('latitude')}, "  # noqa: S608
        f"{_q('longitude')}, {_q('service_radius_km')} FROM {table} "
        f"WHERE {_q('metier_id')} = %s AND "
    )


@lru_cache(maxsize=256)
def _ranges_sql(n_ranges: int) -> str:
    between = f"{_q('cell')} BETWEEN %s AND %s"
    return _select() + "(" + " OR ".join([between] * n_ranges) + ")"


@lru_cache(maxsize=1)
def _band_sql() -> str:
    return _select() + f"{_q('cell')} BETWEEN %s AND %s"


def next_rings(k: int, found: int, limit: int) -> int:
    """How far the next square reaches, from what the current one held.

    With ``found`` matches in a square of side 2k+1, aim at 3 × ``limit`` matches
    assuming an even density (area ∝ side²), at least one ring more, at most doubling.
    """
    if found == 0:
        return 2 * k + 1
    side = math.sqrt(3 * limit / found) * (2 * k + 1)
    return max(k + 1, min(2 * k + 1, math.ceil((side - 1) / 2)))


def nearest(metier: str, latitude: float, longitude: float, *, radius_km: float,
            limit: int, exclude_professionals: Iterable[int] = (),
            exclude_listings: Iterable[int] = ()) -> list[Hit]:
    """The ``limit`` nearest indexed listings offering ``metier`` around the point,
    within ``radius_km`` AND within each listing's own service radius, nearest first
    (ties by listing id), leaving out some professionals and listings.

    Reads growing squares of cells around the point until the answer is certain (see
    :func:`_staged`). On PostgreSQL the squares are read by one statement
    (:func:`_one_statement`: one round trip instead of three or four), whose answer is
    re-checked here and completed by the staged search in the rare case it is not
    conclusive.
    """
    if limit <= 0 or radius_km < 0:
        return []
    search = _Search(metier, latitude, longitude, radius_km, limit,
                     set(exclude_professionals), set(exclude_listings))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            hits = _one_statement(cursor, search)
            if hits is not None:
                return hits
        return _staged(cursor, search)


class _Search:
    """One search: the point, the filters, the exact distance, the rows found."""

    def __init__(self, metier, latitude, longitude, radius_km, limit, skip_pros,
                 skip_listings):
        self.metier, self.latitude, self.longitude = metier, latitude, longitude
        self.radius_km, self.limit = radius_km, limit
        self.skip_pros, self.skip_listings = skip_pros, skip_listings
        self.row, self.col = geo.cell_row_col(latitude, longitude)
        self.p1 = math.radians(latitude)
        self.cos1 = math.cos(self.p1)
        self.found: list[tuple] = []
        # The square that surely holds every point within radius_km: never read beyond.
        self.reach = next(
            (k for k in range(MAX_RINGS + 1) if self.guarantee(k) >= radius_km), MAX_RINGS
        )

    def guarantee(self, k: int) -> float:
        return geo.guaranteed_km(self.latitude, self.longitude, self.row, self.col, k)

    def take(self, rows) -> None:
        """Keep the rows within both radii, with their exact distance.

        Haversine as in geo.haversine_km — the same operations in the same order, so
        the same floats — with the point's terms computed once.
        """
        radians, sin, cos, asin, sqrt = math.radians, math.sin, math.cos, math.asin, math.sqrt
        p1, cos1, lon0 = self.p1, self.cos1, self.longitude
        diameter = 2 * geo.EARTH_RADIUS_KM
        radius = self.radius_km
        found = self.found
        for row in rows:
            listing_id, pro_id, lat, lon, own_radius = row[:5]
            if pro_id in self.skip_pros or listing_id in self.skip_listings:
                continue
            p2 = radians(lat)
            a = sin((p2 - p1) / 2) ** 2 + cos1 * cos(p2) * sin(radians(lon - lon0) / 2) ** 2
            d = diameter * asin(min(1.0, sqrt(a)))
            if d <= radius and d <= own_radius:
                found.append((d, listing_id, row[:5]))
        found.sort(key=_key)

    def certain(self, k: int) -> bool:
        """Whether the answer is final once the square of half-size k was read."""
        g = self.guarantee(k)
        return g >= self.radius_km or (
            len(self.found) >= self.limit and self.found[self.limit - 1][0] < g
        )

    def hits(self) -> list[Hit]:
        return _hits(self.found[:self.limit])


def _staged(cursor, search: _Search) -> list[Hit]:
    """Rings 0–1 first, then as far as the density seen so far suggests (see
    :func:`next_rings`), each square annulus as a few ranges of cell ids, until the
    answer is certain; past ``MAX_RINGS`` (huge radii, polar regions) the whole
    latitude band within the radius instead."""
    search.found = []
    inner, k = 0, min(FIRST_RINGS, search.reach)
    while True:
        ranges = geo.annulus_ranges(search.row, search.col, inner, k)
        cursor.execute(_ranges_sql(len(ranges)),
                       [search.metier, *(bound for pair in ranges for bound in pair)])
        search.take(cursor.fetchall())
        if search.certain(k):
            return search.hits()
        if k >= MAX_RINGS:
            break
        inner, k = k + 1, min(search.reach, next_rings(k, len(search.found), search.limit))
    # Every point within the radius lies between these two parallels.
    span = math.degrees(search.radius_km / geo.EARTH_RADIUS_KM)
    south = geo.cell_row_col(max(-90.0, search.latitude - span), 0.0)[0]
    north = geo.cell_row_col(min(90.0, search.latitude + span), 0.0)[0]
    search.found = []
    cursor.execute(_band_sql(), [search.metier, south * geo.COLUMNS,
                                 north * geo.COLUMNS + geo.COLUMNS - 1])
    search.take(cursor.fetchall())
    return search.hits()


# --- PostgreSQL: the staged search in one statement ------------------------------------------

_SLACK_KM = 1e-6  # SQL and Python floats may differ in the last bits: SQL keeps more


@lru_cache(maxsize=1)
def _one_statement_sql() -> str:
    """A recursive query reading stage after stage of squares (same cells and the same
    guarantees as computed in Python, passed as arrays) until the ``limit``-th match is
    closer than the stage's guarantee; returns the matches of the stages read, nearest
    first (at most ``cap``), with the last stage read."""
    table = _q(RecipientIndex._meta.db_table)
    lat, lon = f"i.{_q('latitude')}", f"i.{_q('longitude')}"
    dist = (
        f"(2 * %(earth)s * asin(least(1.0, sqrt(power(sin((radians({lat}) - %(p1)s) / 2), 2)"
        f" + %(cos1)s * cos(radians({lat})) * power(sin(radians({lon} - %(lon)s) / 2), 2)))))"
    )
    join = (f"stage_ranges r JOIN {table} i ON i.{_q('metier_id')} = %(metier)s "
            f"AND i.{_q('cell')} BETWEEN r.lo AND r.hi")
    keep = (f"i.{_q('professional_id')} <> ALL(%(skip_pros)s::bigint[]) "
            f"AND i.{_q('listing_id')} <> ALL(%(skip_listings)s::bigint[]) "
            f"AND {dist} <= least(%(radius)s, i.{_q('service_radius_km')}) + {_SLACK_KM}")

    def enough(stage: str) -> str:
        return (f"((SELECT g FROM stage_guarantees WHERE st = {stage}) >= %(radius)s OR "  # noqa: S608
                f"(SELECT count(*) FROM (SELECT 1 FROM {join} WHERE r.st <= {stage} AND {keep} "
                f"AND {dist} < (SELECT g FROM stage_guarantees WHERE st = {stage}) "
                f"LIMIT %(limit)s) enough) >= %(limit)s)")

    return (  # identifiers from the models; every value is a parameter
        "WITH RECURSIVE "  # noqa: S608
        "stage_ranges AS MATERIALIZED (SELECT lo, hi, st FROM "
        "unnest(%(lo)s::int[], %(hi)s::int[], %(st)s::int[]) AS x(lo, hi, st)), "
        "stage_guarantees AS MATERIALIZED (SELECT g, st::int AS st FROM "
        "unnest(%(g)s::float8[]) WITH ORDINALITY AS x(g, st)), "
        f"search(st, done) AS (SELECT 1, {enough('1')} UNION ALL "
        f"SELECT s.st + 1, {enough('s.st + 1')} FROM search s "
        "WHERE NOT s.done AND s.st < %(stages)s), "
        "reached AS (SELECT max(st) AS st FROM search) "
        f"SELECT m.listing_id, m.professional_id, m.latitude, m.longitude, "
        f"m.service_radius_km, m.d, reached.st FROM reached LEFT JOIN LATERAL ("
        f"SELECT i.{_q('listing_id')} AS listing_id, i.{_q('professional_id')} AS "
        f"professional_id, {lat} AS latitude, {lon} AS longitude, "
        f"i.{_q('service_radius_km')} AS service_radius_km, {dist} AS d "
        f"FROM {join} WHERE r.st <= reached.st AND {keep} "
        f"ORDER BY d, listing_id LIMIT %(cap)s) m ON true"
    )


def _one_statement(cursor, search: _Search) -> list[Hit] | None:
    """The staged search in one round trip; None when its answer is not conclusive."""
    if search.guarantee(search.reach) < search.radius_km:
        return None  # needs the latitude band: the staged search does that
    ks, k = [], FIRST_RINGS
    while True:
        ks.append(min(k, search.reach))
        if ks[-1] >= search.reach:
            break
        k = 2 * k + 1
    lo, hi, st = [], [], []
    inner = 0
    for stage, k in enumerate(ks, start=1):
        for a, b in geo.annulus_ranges(search.row, search.col, inner, k):
            lo.append(a)
            hi.append(b)
            st.append(stage)
        inner = k + 1
    cap = 2 * search.limit + 16
    cursor.execute(_one_statement_sql(), {
        "metier": search.metier, "lo": lo, "hi": hi, "st": st,
        "g": [search.guarantee(k) for k in ks], "stages": len(ks),
        "radius": search.radius_km, "limit": search.limit, "cap": cap,
        "earth": geo.EARTH_RADIUS_KM, "p1": search.p1, "cos1": search.cos1,
        "lon": search.longitude, "skip_pros": list(search.skip_pros),
        "skip_listings": list(search.skip_listings),
    })
    rows = cursor.fetchall()
    reached = rows[0][6]
    rows = [r for r in rows if r[0] is not None]
    search.found = []
    search.take(rows)
    if len(rows) == cap and search.found and len(search.found) >= search.limit and (
        search.found[search.limit - 1][0] >= rows[-1][5] - _SLACK_KM
    ):
        return None  # the cut at ``cap`` might hide a tie: let the staged search decide
    if len(rows) == cap and len(search.found) < search.limit:
        return None
    return search.hits() if search.certain(ks[reached - 1]) else None


def _hits(found) -> list[Hit]:
    return [Hit(listing_id, pro_id, lat, lon, own_radius, d)
            for d, _, (listing_id, pro_id, lat, lon, own_radius) in found]


def _key(item):
    return item[0], item[1]  # distance, then listing id


# --- Maintenance --------------------------------------------------------------------


def _expected(listing_ids: Iterable[int] | None = None):
    """Rows the index should hold, from the live tables: (listing, métier) → values."""
    from relais.pros.models import Listing

    through = Listing.metiers.through
    qs = through.objects.filter(
        listing__status=Listing.Status.APPROVED,
        listing__shared_paused=False,
        listing__establishment__active=True,
        listing__establishment__latitude__isnull=False,
        listing__establishment__longitude__isnull=False,
    )
    if listing_ids is not None:
        qs = qs.filter(listing_id__in=list(listing_ids))
    rows = qs.values_list(
        "listing_id", "metier_id", "listing__professional_id", "listing__service_radius_km",
        "listing__establishment__latitude", "listing__establishment__longitude",
    )
    for listing_id, metier, pro_id, radius, lat, lon in rows.iterator(chunk_size=5000):
        yield (listing_id, metier), (geo.cell_id(lat, lon), lat, lon, float(radius), pro_id)


def _row(key, values) -> RecipientIndex:
    (listing_id, metier), (cell, lat, lon, radius, pro_id) = key, values
    return RecipientIndex(listing_id=listing_id, metier_id=metier, cell=cell, latitude=lat,
                          longitude=lon, service_radius_km=radius, professional_id=pro_id)


def sync_listings(listing_ids: Iterable[int]) -> int:
    """Rewrite the index rows of these listings from the live tables; returns rows kept."""
    ids = list(set(listing_ids))
    if not ids:
        return 0
    with transaction.atomic():
        RecipientIndex.objects.filter(listing_id__in=ids).delete()
        rows = [_row(k, v) for k, v in _expected(ids)]
        RecipientIndex.objects.bulk_create(rows)
    return len(rows)


def sync_establishments(sirets: Iterable[str]) -> int:
    """After establishments changed (position, active) without signals: resync them."""
    from relais.pros.models import Listing

    sirets = list(sirets)
    total = 0
    for start in range(0, len(sirets), 5000):
        ids = Listing.objects.filter(establishment_id__in=sirets[start:start + 5000])
        total += sync_listings(ids.values_list("pk", flat=True))
    return total


def rebuild(batch: int = 5000, progress=None) -> int:
    """Empty the index and fill it again from the live tables."""
    count = 0
    with transaction.atomic():
        RecipientIndex.objects.all().delete()
        rows = []
        for key, values in _expected():
            rows.append(_row(key, values))
            if len(rows) >= batch:
                RecipientIndex.objects.bulk_create(rows)
                count += len(rows)
                if progress:
                    progress(len(rows))
                rows = []
        RecipientIndex.objects.bulk_create(rows)
        count += len(rows)
        if progress:
            progress(len(rows))
    return count


def reconcile() -> dict[str, int]:
    """Compare the index with the live tables and fix every difference (daily job)."""
    expected = dict(_expected())
    actual = {
        (listing_id, metier): (cell, lat, lon, radius, pro_id)
        for listing_id, metier, cell, lat, lon, radius, pro_id in
        RecipientIndex.objects.values_list(
            "listing_id", "metier_id", "cell", "latitude", "longitude", "service_radius_km",
            "professional_id",
        ).iterator(chunk_size=5000)
    }
    stale = {k for k, v in actual.items() if expected.get(k) != v}
    missing = {k for k, v in expected.items() if actual.get(k) != v}
    listings = {k[0] for k in stale | missing}
    if listings:
        logger.warning("recipient index: %d listing(s) out of date, fixed", len(listings))
        for start in range(0, len(listings), 1000):
            sync_listings(list(listings)[start:start + 1000])
    return {"rows": len(expected), "stale": len(stale), "missing": len(missing)}
