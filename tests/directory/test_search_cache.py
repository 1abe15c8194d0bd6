"""The search answers' cache: served again while nothing changed, forgotten when a claim,
a tracking number or an import changes what a search shows."""

import pytest
from django.utils import timezone

from relais.calls.models import TrackingNumber
from relais.directory.models import Establishment, Metier
from relais.directory.signals import establishments_changed
from relais.pros.models import Listing
from tests import factories as f
from tests.factories import NANTES, offset

pytestmark = pytest.mark.django_db

Q = {"quoi": "plombier", "ou": "Nantes"}


def names(client, **extra):
    body = client.get("/api/v1/search", {**Q, **extra}).json()
    return [r["name"] for r in body["results"]]


@pytest.fixture
def plumbers(settings):
    settings.RELAIS_SEARCH_CACHE_SECONDS = 60
    return [f.establishment(*offset(*NANTES, i), name=f"Plombier {i}") for i in range(1, 4)]


def test_an_answer_is_served_again_until_something_changes(client, plumbers):
    first = names(client)
    assert first == ["Plombier 1", "Plombier 2", "Plombier 3"]
    # a change no signal reports (SQL by hand): the cached answer is served
    Establishment.objects.filter(pk=plumbers[0].pk).update(name="Renommé en douce")
    assert names(client) == first
    assert names(client, ou="  NANTES ") == first  # the same search, normalised
    # a SIRENE import says what it changed: forgotten
    establishments_changed.send(sender=None, using="default", kind="sirene-import", counts={})
    assert names(client)[0] == "Renommé en douce"


def test_a_claim_and_a_tracking_number_are_shown_at_once(client, plumbers):
    assert names(client)
    payload = client.get("/api/v1/search", Q).json()["results"][0]
    assert payload["claimed"] is False and payload["tracking_number"] is None
    pro = f.professional("plombier1@example.org")
    listing = Listing.objects.create(establishment=plumbers[0], professional=pro,
                                     status=Listing.Status.PENDING)
    listing.metiers.set(Metier.objects.filter(slug="plombier"))
    assert client.get("/api/v1/search", Q).json()["results"][0]["claimed"] is False
    listing.status, listing.approved_at = Listing.Status.APPROVED, timezone.now()
    listing.save()  # the operator approves the claim
    assert client.get("/api/v1/search", Q).json()["results"][0]["claimed"] is True
    listing.metiers.set(Metier.objects.filter(slug="electricien"))  # no longer a plumber
    assert names(client) == ["Plombier 2", "Plombier 3"]
    listing.metiers.set(Metier.objects.filter(slug="plombier"))
    TrackingNumber.objects.create(e164="+33159000001", listing=listing)
    first = client.get("/api/v1/search", Q).json()["results"][0]
    assert first["tracking_number"] == "+33159000001"


def test_bad_input_is_never_cached_and_ttl_zero_turns_the_cache_off(client, plumbers,
                                                                   settings):
    assert client.get("/api/v1/search", {**Q, "page": ""}).status_code == 400
    assert client.get("/api/v1/search", Q).status_code == 200
    assert client.get("/api/v1/search", {**Q, "page": ""}).status_code == 400
    settings.RELAIS_SEARCH_CACHE_SECONDS = 0
    names(client)
    Establishment.objects.filter(pk=plumbers[0].pk).update(name="Sans cache")
    assert names(client)[0] == "Sans cache"
