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

from django.db import connection, transaction

from . import geo
from .models import RecipientIndex

logger = logging.getLogger(__name__)

FIRST_RINGS = 1  # the first query reads rings 0..1 (9 cells) at once
MAX_RINGS = 12  # beyond, one range query over the latitude band the radius allows


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
        f"{_q('longitude')}, {_q('service_radius_km')}, {_q('cell')} FROM {table} "
        f"WHERE {_q('metier_id')} = %s AND "
    )


def _cells_sql(n_cells: int) -> str:
    return _select() + f"{_q('cell')} IN ({', '.join(['%s'] * n_cells)})"


def _band_sql() -> str:
    return _select() + f"{_q('cell')} BETWEEN %s AND %s"


def nearest(metier: str, latitude: float, longitude: float, *, radius_km: float,
            limit: int, exclude_professionals: Iterable[int] = (),
            exclude_listings: Iterable[int] = ()) -> list[Hit]:
    """The ``limit`` nearest indexed listings offering ``metier`` around the point,
    within ``radius_km`` AND within each listing's own service radius, nearest first
    (ties by listing id), leaving out some professionals and listings.

    Reads rings of cells around the point (one query for rings 0–1, then one per ring)
    until the answer is certain; past ``MAX_RINGS`` rings (huge radii, polar regions),
    finishes with one range query over the latitude band within ``radius_km``.
    """
    if limit <= 0 or radius_km < 0:
        return []
    skip_pros = set(exclude_professionals)
    skip_listings = set(exclude_listings)
    haversine = geo.haversine_km
    found: list[tuple[float, int, Hit]] = []
    scanned: set[int] = set()

    def take(rows, skip_cells=()):
        for listing_id, pro_id, lat, lon, own_radius, cell in rows:
            if pro_id in skip_pros or listing_id in skip_listings or cell in skip_cells:
                continue
            d = haversine(latitude, longitude, lat, lon)
            if d <= radius_km and d <= own_radius:
                found.append((d, listing_id, Hit(listing_id, pro_id, lat, lon, own_radius, d)))

    pending: list[int] = []
    done = False
    with connection.cursor() as cursor:
        for k, cells, guarantee in geo.rings(latitude, longitude):
            pending.extend(cells)
            if k < FIRST_RINGS and guarantee < radius_km:
                continue
            if pending:
                cursor.execute(_cells_sql(len(pending)), [metier, *pending])
                take(cursor.fetchall())
                scanned.update(pending)
                pending = []
                found.sort(key=_key)
            if guarantee >= radius_km or (
                len(found) >= limit and found[limit - 1][0] < guarantee
            ):
                done = True
                break
            if k >= MAX_RINGS:
                break
        if not done:
            # Every point within radius_km lies between these two parallels.
            span = math.degrees(radius_km / geo.EARTH_RADIUS_KM)
            south = geo.cell_row_col(max(-90.0, latitude - span), 0.0)[0]
            north = geo.cell_row_col(min(90.0, latitude + span), 0.0)[0]
            cursor.execute(_band_sql(), [metier, south * geo.COLUMNS,
                                         north * geo.COLUMNS + geo.COLUMNS - 1])
            take(cursor.fetchall(), scanned)
            found.sort(key=_key)
    return [h for _, _, h in found[:limit]]


def _key(item):
    return item[0], item[1]


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
