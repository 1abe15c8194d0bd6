"""The recipient index gives exactly the answer of a brute-force scan, on random data."""

import random

import pytest
from django.contrib.auth import get_user_model

from relais.directory.models import Establishment
from relais.pros.models import Listing, Professional
from relais.routing import geo, index
from tests import factories as f
from tests.factories import NANTES, offset

pytestmark = pytest.mark.django_db

METIERS = ["plombier", "electricien", "serrurier"]


def snapshot():
    """Every listing as plain data, read from the live tables (not from the index)."""
    return [
        (item.pk, item.professional_id, item.status, item.shared_paused,
         item.establishment.active, item.establishment.latitude, item.establishment.longitude,
         item.service_radius_km, {m.slug for m in item.metiers.all()})
        for item in Listing.objects.select_related("establishment").prefetch_related("metiers")
    ]


def brute_force(listings, metier, lat, lon, radius, limit, exclude_pros=()):
    """Every listing, filtered and sorted in Python: the reference answer."""
    rows = []
    for pk, pro, status, paused, active, elat, elon, own_radius, metiers in listings:
        if (status != Listing.Status.APPROVED or paused or not active or elat is None
                or pro in exclude_pros or metier not in metiers):
            continue
        d = geo.haversine_km(lat, lon, elat, elon)
        if d <= radius and d <= own_radius:
            rows.append((d, pk))
    rows.sort()
    return [(pk, round(d, 9)) for d, pk in rows[:limit]]


def search(metier, lat, lon, radius, limit, exclude_pros=()):
    hits = index.nearest(metier, lat, lon, radius_km=radius, limit=limit,
                         exclude_professionals=exclude_pros)
    return [(h.listing_id, round(h.distance_km, 9)) for h in hits]


@pytest.fixture(scope="module")
def random_directory(django_db_setup, django_db_blocker):
    """~300 listings: clusters in western France, sparse points, a few far away
    (overseas, near the antimeridian and the poles), with every kind of listing."""
    rng = random.Random(20261128)
    with django_db_blocker.unblock():
        pros = [f.professional() for _ in range(40)]
        centres = [NANTES, (47.47, -0.55), (48.11, -1.68), (46.16, -1.15)]
        points = []
        for _ in range(200):
            c = rng.choice(centres)
            points.append(offset(*c, rng.gauss(0, 25), rng.gauss(0, 25)))
        points += [(rng.uniform(43, 50), rng.uniform(-4, 7)) for _ in range(40)]
        points += [(-21.1, 55.5), (14.6, -61.0), (4.9, -52.3), (-17.5, -149.5),
                   (-17.5, 179.95), (-17.5, -179.95), (89.95, 10.0), (89.95, -170.0),
                   (-89.95, 0.0), (0.0, 0.0)]
        created = []
        for lat, lon in points:
            created.append(f.listing(
                lat, lon, rng.sample(METIERS, rng.randint(1, 2)),
                status=rng.choices([Listing.Status.APPROVED, Listing.Status.PENDING],
                                   [9, 1])[0],
                radius=rng.choice([5, 10, 20, 30, 50, 80, 200, 5000]),
                paused=rng.random() < 0.08, active=rng.random() > 0.05,
                pro=rng.choice(pros),
            ))
    yield created, pros
    with django_db_blocker.unblock():
        Listing.objects.all().delete()
        for model in (Establishment, Professional, get_user_model()):
            model.objects.all().delete()


def test_the_index_gives_exactly_the_brute_force_answer(random_directory):
    listings, pros = random_directory
    data = snapshot()
    rng = random.Random(7)
    queries = 0
    for _ in range(150):
        if rng.random() < 0.7:
            anchor = rng.choice(listings).establishment
            lat, lon = offset(anchor.latitude, anchor.longitude, rng.gauss(0, 10),
                              rng.gauss(0, 10))
        else:
            lat, lon = rng.uniform(-89.99, 89.99), rng.uniform(-180, 179.99)
        lat = max(-89.999, min(89.999, lat))
        lon = (lon + 180) % 360 - 180
        metier = rng.choice(METIERS)
        radius = rng.choice([0.5, 5, 20, 50, 50, 50, 120, 1000, 20000])
        limit = rng.choice([1, 3, 5, 8, 50])
        exclude = {rng.choice(pros).pk for _ in range(rng.randint(0, 2))}
        assert search(metier, lat, lon, radius, limit, exclude) == \
            brute_force(data, metier, lat, lon, radius, limit, exclude), (metier, lat, lon, radius)
        queries += 1
    assert queries == 150


def test_the_index_across_the_antimeridian_and_near_the_poles(random_directory):
    data = snapshot()
    for lat, lon in [(-17.5, 179.99), (-17.5, -179.99), (89.99, 100.0), (-89.99, 45.0)]:
        for metier in METIERS:
            assert search(metier, lat, lon, 500, 10) == brute_force(data, metier, lat, lon, 500, 10)


