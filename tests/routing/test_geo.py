"""The grid geometry behind the index: the ring guarantee is a true lower bound."""

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from relais.routing import geo

lat_st = st.floats(min_value=-89.999, max_value=89.999, allow_nan=False)
lon_st = st.floats(min_value=-180.0, max_value=179.999, allow_nan=False)


def test_haversine_known_distances():
    paris, marseille = (48.8566, 2.3522), (43.2965, 5.3698)
    assert geo.haversine_km(*paris, *marseille) == pytest.approx(661, abs=2)
    assert geo.haversine_km(0, 0, 0, 1) == pytest.approx(111.195, abs=0.01)
    assert geo.haversine_km(10, 20, 10, 20) == 0.0


def chebyshev(a: tuple[int, int], b: tuple[int, int]) -> int:
    dr = abs(a[0] - b[0])
    dc = abs(a[1] - b[1]) % geo.COLUMNS
    return max(dr, min(dc, geo.COLUMNS - dc))


@settings(max_examples=400, deadline=None)
@given(lat_st, lon_st, lat_st, lon_st, st.integers(min_value=0, max_value=60))
def test_no_point_outside_the_scanned_square_is_nearer_than_the_guarantee(lat, lon, qlat,
                                                                          qlon, k):
    p, q = geo.cell_row_col(lat, lon), geo.cell_row_col(qlat, qlon)
    assume(chebyshev(p, q) > k)  # q lies outside the square of half-size k around p
    assert geo.guaranteed_km(lat, lon, *p, k) <= geo.haversine_km(lat, lon, qlat, qlon)


@settings(max_examples=200, deadline=None)
@given(lat_st, lon_st,
       st.floats(min_value=-0.5, max_value=0.5), st.floats(min_value=-0.5, max_value=0.5))
def test_near_points_outside_the_square_near_france_too(lat, lon, dlat, dlon):
    # Dense check at the scale routing uses (tens of km), where float error would bite.
    qlat, qlon = max(-89.999, min(89.999, lat + dlat)), lon + dlon
    qlon = (qlon + 180.0) % 360.0 - 180.0
    p, q = geo.cell_row_col(lat, lon), geo.cell_row_col(qlat, qlon)
    for k in range(chebyshev(p, q)):
        assert geo.guaranteed_km(lat, lon, *p, k) <= geo.haversine_km(lat, lon, qlat, qlon)


@given(lat_st, lon_st)
def test_rings_cover_each_cell_once_and_grow(lat, lon):
    seen: set[int] = set()
    last = -1.0
    for k, cells, guarantee in geo.rings(lat, lon):
        assert not seen & set(cells)
        seen |= set(cells)
        assert guarantee >= last
        last = guarantee
        if k == 12:
            break
    row, col = geo.cell_row_col(lat, lon)
    expected = {
        r * geo.COLUMNS + c % geo.COLUMNS
        for r in range(max(0, row - 12), min(geo.ROWS, row + 13))
        for c in range(col - 12, col + 13)
    }
    assert seen == expected


def test_the_guarantee_in_mainland_france_reaches_50_km_within_the_ring_budget():
    from relais.routing.index import MAX_RINGS

    for lat, lon in [(47.2184, -1.5536), (51.03, 2.37), (42.7, 2.9), (48.86, 2.35)]:
        rings_needed = next(k for k, _, guarantee in geo.rings(lat, lon) if guarantee >= 50)
        assert rings_needed <= 16 < MAX_RINGS
    assert math.isinf(geo.guaranteed_km(0, 0, *geo.cell_row_col(0, 0), geo.COLUMNS))


def test_cells_wrap_at_the_antimeridian():
    assert geo.cell_row_col(0, 179.99)[1] == geo.COLUMNS - 1
    assert geo.cell_row_col(0, 180.0)[1] == 0
    ring = geo.ring_cells(900, geo.COLUMNS - 1, 1)
    assert 900 * geo.COLUMNS + 0 in ring  # the neighbour across the antimeridian


def cells_of(ranges):
    return {c for lo, hi in ranges for c in range(lo, hi + 1)}


@settings(max_examples=150, deadline=None)
@given(lat_st, lon_st, st.integers(min_value=0, max_value=15),
       st.integers(min_value=0, max_value=15))
def test_annulus_ranges_are_exactly_the_rings_between(lat, lon, inner, extra):
    row, col = geo.cell_row_col(lat, lon)
    outer = inner + extra
    expected = {c for k in range(inner, outer + 1) for c in geo.ring_cells(row, col, k)}
    ranges = geo.annulus_ranges(row, col, inner, outer)
    assert cells_of(ranges) == expected
    assert sum(hi - lo + 1 for lo, hi in ranges) == len(expected)  # no overlap
