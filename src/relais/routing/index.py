"""The recipient index: "claimed listings of métier M within R km of P, nearest first".

A portable geographic index, no PostGIS: :class:`~relais.routing.models.RecipientIndex`
holds one row per (eligible listing, métier) with its position and grid cell
(:mod:`relais.routing.geo`), indexed on ``(metier, cell, …)`` with every column the
search reads (an index-only scan on SQLite and PostgreSQL). :func:`nearest` reads
growing squares of cells around the point — each a few ranges of cell ids —, refines by
haversine and stops as soon as the answer is certain: the N-th candidate is closer than
any unread point can be (:func:`relais.routing.geo.guaranteed_km`), or every point
within R has been read. The answer is exact: the same as a scan of every row (tested
against a brute-force reference).

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

from relais.pros.models import Listing

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
def _unnest_sql() -> str:
    """PostgreSQL: one index descent per range, whatever the planner thinks of the
    métier's size (with OR-ed ranges it may scan the whole métier and filter)."""
    table = _q(RecipientIndex._meta.db_table)
    return (  # identifiers from the model; values are parameters
        f"SELECT i.{_q('listing_id')}, i.{_q('professional_id')}, i.{_q('latitude')}, "  # noqa: S608
        f"i.{_q('longitude')}, i.{_q('service_radius_km')} "
        f"FROM unnest(%s::int[], %s::int[]) AS r(lo, hi) JOIN {table} i "
        f"ON i.{_q('metier_id')} = %s AND i.{_q('cell')} BETWEEN r.lo AND r.hi"
    )


def _read_ranges(cursor, metier: str, ranges: list[tuple[int, int]]) -> list[tuple]:
    if connection.vendor == "postgresql":
        cursor.execute(_unnest_sql(), [[a for a, _ in ranges], [b for _, b in ranges], metier])
    else:
        cursor.execute(_ranges_sql(len(ranges)),
                       [metier, *(bound for pair in ranges for bound in pair)])
    return cursor.fetchall()


@lru_cache(maxsize=1)
def _band_sql() -> str:
    return _select() + f"{_q('cell')} BETWEEN %s AND %s"


def next_rings(k: int, found: int, limit: int) -> int:
    """How far the next square reaches, from what the current one held.

    With ``found`` matches in a square of side 2k+1, aim at 4 × ``limit`` matches
    assuming an even density (area ∝ side²), at least one ring more; with none, as far
    as needed (the caller caps it at the radius). A query costs about as much as reading
    a hundred rows, so overshooting a little beats one more round trip.
    """
    if found == 0:
        return MAX_RINGS
    side = math.sqrt(4 * limit / found) * (2 * k + 1)
    return max(k + 1, math.ceil((side - 1) / 2))


def nearest(metier: str, latitude: float, longitude: float, *, radius_km: float,
            limit: int, exclude_professionals: Iterable[int] = (),
            exclude_listings: Iterable[int] = ()) -> list[Hit]:
    """The ``limit`` nearest indexed listings offering ``metier`` around the point,
    within ``radius_km`` AND within each listing's own service radius, nearest first
    (ties by listing id), leaving out some professionals and listings.

    Reads growing squares of cells around the point until the answer is certain: rings
    0–1 first, then as far as the density seen so far suggests (:func:`next_rings`),
    each square annulus as a few ranges of cell ids; past ``MAX_RINGS`` (huge radii,
    polar regions) the whole latitude band within the radius instead.
    """
    if limit <= 0 or radius_km < 0:
        return []
    search = _Search(metier, latitude, longitude, radius_km, limit,
                     set(exclude_professionals), set(exclude_listings))
    with connection.cursor() as cursor:
        inner, k = 0, min(FIRST_RINGS, search.reach)
        while True:
            search.take(_read_ranges(cursor, metier,
                                     geo.annulus_ranges(search.row, search.col, inner, k)))
            if search.certain(k):
                return search.hits()
            if k >= MAX_RINGS:
                break
            inner, k = k + 1, min(search.reach, next_rings(k, len(search.found), limit))
        # Every point within the radius lies between these two parallels.
        span = math.degrees(radius_km / geo.EARTH_RADIUS_KM)
        south = geo.cell_row_col(max(-90.0, latitude - span), 0.0)[0]
        north = geo.cell_row_col(min(90.0, latitude + span), 0.0)[0]
        search.found = []
        cursor.execute(_band_sql(), [metier, south * geo.COLUMNS,
                                     north * geo.COLUMNS + geo.COLUMNS - 1])
        search.take(cursor.fetchall())
    return search.hits()


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


def _hits(found) -> list[Hit]:
    return [Hit(listing_id, pro_id, lat, lon, own_radius, d)
            for d, _, (listing_id, pro_id, lat, lon, own_radius) in found]


def _key(item):
    return item[0], item[1]  # distance, then listing id


# --- Maintenance --------------------------------------------------------------------


def _expected(listing_ids: Iterable[int] | None = None):
    """Rows the index should hold, from the live tables: (listing, métier) → values."""
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
