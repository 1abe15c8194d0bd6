import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from relais.demo import seed as demo
from relais.directory.models import Commune, Establishment
from relais.directory.search import haversine_km
from relais.pros.models import Listing

pytestmark = pytest.mark.django_db
README = Path(__file__).resolve().parents[2] / "README.md"


def test_seed_is_idempotent_and_has_the_promised_professionals(client):
    listings = demo.seed(rows=8000)
    count = Establishment.objects.count()
    assert count > 7000
    assert set(Establishment.objects.values_list("commune__departement", flat=True)) <= set(
        demo.ILE_DE_FRANCE)
    again = demo.seed(rows=8000)
    assert [x.pk for x in again] == [x.pk for x in listings]
    assert Establishment.objects.count() == count and Listing.objects.count() == len(listings)

    creteil = Commune.objects.get(code_insee=demo.CRETEIL)
    paris = Commune.objects.get(code_insee=demo.PARIS)
    for slug in ("plombier", "electricien"):
        claimed = [x for x in Listing.objects.filter(status="approved", metiers=slug)]
        for town in (creteil, paris):
            near = [x for x in claimed if haversine_km(
                town.latitude, town.longitude, x.establishment.latitude,
                x.establishment.longitude) <= 20]
            assert len(near) >= 3, (slug, town.name)
    for listing in Listing.objects.select_related("professional__user"):
        assert listing.claimed and listing.forward_number.startswith("+3326191")
        assert listing.professional.user.email.endswith("@example.org")
        assert listing.professional.email_verified
        assert listing.service_radius_km > 0 and listing.metiers.exists()
    # The accounts log in with the documented password.
    email = listings[0].professional.user.email
    response = client.post("/pro/connexion/", {"username": email,
                                               "password": demo.DEMO_PASSWORD})
    assert response.status_code == 302


def test_readme_lists_every_demo_account():
    text = README.read_text(encoding="utf-8")
    listed = set(re.findall(r"[\w.]+@example\.org", text))
    assert {a.email for a in demo.ACCOUNTS} <= listed
    assert demo.DEMO_PASSWORD in text


def test_seed_demo_command_gives_every_demo_listing_a_tracking_number(settings):
    out = io.StringIO()
    call_command("seed_demo", "--rows", "6000", "--no-progress", stdout=out)
    assert "demo ready" in out.getvalue()
    listings = list(Listing.objects.select_related("tracking_number"))
    numbers = {x.tracking_number.e164 for x in listings}
    assert len(numbers) == len(listings) == len(demo.ACCOUNTS)
    assert all(n.startswith("+3319900") for n in numbers)
    forwards = {x.forward_number for x in listings}
    assert not numbers & forwards  # a call is never forwarded to a tracking number
    call_command("seed_demo", "--rows", "6000", "--no-progress", stdout=io.StringIO())
    assert {x.tracking_number.e164 for x in Listing.objects.select_related(
        "tracking_number")} == numbers
