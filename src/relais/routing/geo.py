"""Geometry for routing: haversine distances and the grid of cells the index uses.

Pure functions, no database. The grid divides the globe into cells of ``CELL_DEGREES``
× ``CELL_DEGREES`` (latitude × longitude). A search around a point scans square "rings"
of cells around the point's cell; :func:`guaranteed_km` gives, for the square scanned so
far, a distance below which every point of the sphere is inside the square — so once the
N-th nearest candidate found is closer than that, nothing unscanned can beat it. This is
what makes the ring search exact (same answer as a scan of every row).
"""

import math
from collections.abc import Iterator

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)
CELL_DEGREES = 0.05  # ≈ 5.6 km of latitude, ≈ 3.5–4.2 km of longitude in mainland France
ROWS = round(180 / CELL_DEGREES)  # 3 600 latitude rows
COLUMNS = round(360 / CELL_DEGREES)  # 7 200 longitude columns: ids < 2^25
_EPSILON_KM = 1e-6  # float rounding margin on the guarantee


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two WGS84 points (spherical Earth)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def cell_row_col(lat: float, lon: float) -> tuple[int, int]:
    row = min(ROWS - 1, max(0, math.floor((lat + 90.0) / CELL_DEGREES)))
    col = math.floor((lon + 180.0) / CELL_DEGREES) % COLUMNS
    return row, col


def cell_id(lat: float, lon: float) -> int:
    """The integer id of the cell holding a point (row-major, fits in 32 bits)."""
    row, col = cell_row_col(lat, lon)
    return row * COLUMNS + col


def ring_cells(row: int, col: int, k: int) -> list[int]:
    """Ids of the cells at Chebyshev distance exactly ``k`` from (row, col).

    Longitude wraps around; rows beyond the poles do not exist. Each cell appears once,
    even when a ring wraps onto itself near the antimeridian for huge ``k``.
    """
    if k == 0:
        return [row * COLUMNS + col]
    seen: set[int] = set()
    out: list[int] = []

    def add(r: int, c: int) -> None:
        if 0 <= r < ROWS:
            cid = r * COLUMNS + (c % COLUMNS)
            if cid not in seen:
                seen.add(cid)
                out.append(cid)

    for c in range(col - k, col + k + 1):
        add(row - k, c)
        add(row + k, c)
    for r in range(row - k + 1, row + k):
        add(r, col - k)
        add(r, col + k)
    # Cells already covered by an inner ring (wrap-around when 2k+1 > COLUMNS) are not
    # new; drop them so each cell is read once overall.
    if 2 * k + 1 > COLUMNS:
        inner = {
            r * COLUMNS + (c % COLUMNS)
            for r in range(max(0, row - k + 1), min(ROWS, row + k))
            for c in range(col - k + 1, col + k)
        }
        out = [c for c in out if c not in inner]
    return out


def guaranteed_km(lat: float, lon: float, row: int, col: int, k: int) -> float:
    """A lower bound on the distance from (lat, lon) to any point outside the square
    of cells ``row ± k`` × ``col ± k`` (which must contain the point).

    A point outside the square is beyond one of its parallels or one of its meridians.
    Beyond a parallel: at least the latitude difference. Beyond a meridian at longitude
    difference Δ: the distance to that meridian, asin(sin Δ · cos φ), or to the pole
    when Δ > 90°. Returns ``math.inf`` when the square covers the whole sphere.
    """
    phi = math.radians(lat)
    bounds = []
    south = (row - k) * CELL_DEGREES - 90.0
    north = (row + k + 1) * CELL_DEGREES - 90.0
    if south > -90.0:
        bounds.append(math.radians(lat - south))
    if north < 90.0:
        bounds.append(math.radians(north - lat))
    if (2 * k + 1) * CELL_DEGREES < 360.0:
        west = (col - k) * CELL_DEGREES - 180.0
        east = (col + k + 1) * CELL_DEGREES - 180.0
        delta = math.radians(min(lon - west, east - lon))
        if delta <= math.pi / 2:
            bounds.append(math.asin(min(1.0, math.sin(delta) * math.cos(phi))))
        else:
            bounds.append(math.pi / 2 - abs(phi))
    if not bounds:
        return math.inf
    return max(0.0, min(bounds) * EARTH_RADIUS_KM - _EPSILON_KM)


def rings(lat: float, lon: float) -> Iterator[tuple[int, list[int], float]]:
    """Yield (k, new cells of ring k, guaranteed radius after scanning rings 0..k)."""
    row, col = cell_row_col(lat, lon)
    k = 0
    while True:
        guarantee = guaranteed_km(lat, lon, row, col, k)
        yield k, ring_cells(row, col, k), guarantee
        if guarantee == math.inf or k > max(ROWS, COLUMNS):
            return
        k += 1


def _column_ranges(row: int, first: int, last: int) -> list[tuple[int, int]]:
    """Cell-id ranges of columns first..last (may wrap around) in one row."""
    base = row * COLUMNS
    if last - first + 1 >= COLUMNS:
        return [(base, base + COLUMNS - 1)]
    a, b = first % COLUMNS, last % COLUMNS
    if a <= b:
        return [(base + a, base + b)]
    return [(base + a, base + COLUMNS - 1), (base, base + b)]


def annulus_ranges(row: int, col: int, inner: int, outer: int) -> list[tuple[int, int]]:
    """Cell-id ranges covering the cells at Chebyshev distance inner..outer of (row, col).

    A square annulus is a few contiguous runs per row of cells (row-major ids): the
    rows beyond ``inner`` are one run each, the others two (left and right). Reading
    ranges costs one index descent per run instead of one per cell. Requires
    ``2 * outer + 1 < COLUMNS`` (no self-overlap around the globe).
    """
    out: list[tuple[int, int]] = []
    for r in range(max(0, row - outer), min(ROWS, row + outer + 1)):
        if inner == 0 or abs(r - row) >= inner:
            out += _column_ranges(r, col - outer, col + outer)
        else:
            out += _column_ranges(r, col - outer, col - inner)
            out += _column_ranges(r, col + inner, col + outer)
    return out
