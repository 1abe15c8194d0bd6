"""The interface is in French only, whatever language the browser asks for."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from relais.routing import services as routing
from relais.routing.models import Delivery
from relais.voicemail.models import Voicemail
from tests import factories as f
from tests.factories import NANTES

pytestmark = pytest.mark.django_db

ENGLISH = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
)


def test_a_browser_asking_for_english_gets_the_french_pages(client):
    listing = f.listing(*NANTES, ["plombier"], name="Plomberie A")
    vm = f.voicemail(listing, consent="private")
    received = datetime(2026, 12, 3, 14, 5, tzinfo=ZoneInfo("Europe/Paris"))
    Voicemail.objects.filter(pk=vm.pk).update(created_at=received)
    routing.route_voicemail(vm)
    own = Delivery.objects.get(voicemail=vm, kind="own")
    client.force_login(listing.professional.user)
    headers = {"Accept-Language": "en-US,en;q=0.9"}

    response = client.get(f"/pro/messages/{own.pk}/", headers=headers)
    page = response.content.decode()
    assert response.status_code == 200
    assert response.headers.get("Content-Language", "fr") == "fr"
    assert '<html lang="fr">' in page
    assert "reçu le jeudi 3 décembre 2026 à 14h05" in page
    assert not ENGLISH.search(page)

    for url in ("/", f"/etablissement/{listing.establishment_id}/", "/pro/"):
        response = client.get(url, headers=headers)
        page = response.content.decode()
        assert response.status_code == 200, url
        assert '<html lang="fr">' in page and not ENGLISH.search(page), url
