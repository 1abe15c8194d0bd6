"""Establishments whose name INSEE does not disseminate, and reaching someone: the search
and listing pages say "nom non diffusé" (not the NAF label as a name), show the commune
only, put reachable professionals first and point from an unreachable listing to them."""

import re

import pytest

from relais.calls.models import TrackingNumber
from tests import factories as f
from tests.factories import CRETEIL, NAF_4322A, TRACKING, offset

pytestmark = pytest.mark.django_db
CRETEIL_INSEE = "94028"


@pytest.fixture
def creteil():
    unnamed = f.establishment(*offset(*CRETEIL, 0.3), named=False, commune=CRETEIL_INSEE,
                              address="3 RUE DES ARTISANS")
    unreachable = f.establishment(*offset(*CRETEIL, 0.6), name="Plomberie Sans Numéro",
                                  commune=CRETEIL_INSEE, address="5 RUE DU PORT")
    reachable = f.listing(*offset(*CRETEIL, 4), ["plombier"], name="Plomberie Joignable",
                          commune=CRETEIL_INSEE)
    TrackingNumber.objects.create(e164=TRACKING, listing=reachable)
    return unnamed, unreachable, reachable


def titles(html: str) -> list[str]:
    return re.findall(r'<h2><a href="/etablissement/\d+/">([^<]+)</a></h2>', html)


def test_search_shows_unnamed_honestly_and_reachable_professionals_first(client, creteil):
    html = client.get("/recherche/?quoi=plombier&ou=Créteil").content.decode()
    # Nearest first, within: reachable, then named, then the nameless.
    assert titles(html) == ["Plomberie Joignable", "Plomberie Sans Numéro",
                            "Plombier — nom non diffusé"]
    assert NAF_4322A not in titles(html)
    assert "01 99 00 00 01" in html
    assert html.count("Pas encore joignable par Relais") == 2


def test_an_unnamed_unreachable_listing_says_what_the_caller_can_do(client, creteil):
    unnamed, _unreachable, reachable = creteil
    html = client.get(f"/etablissement/{unnamed.siret}/").content.decode()
    assert "<h1>Plombier — nom non diffusé</h1>" in html
    assert "<title>Plombier — nom non diffusé" in html
    assert "3 RUE DES ARTISANS" not in html  # commune only
    assert "Créteil" in html
    section = html[html.index('id="nearby-title"'):]
    assert "pas encore de numéro Relais" in section
    assert f"/etablissement/{reachable.establishment.siret}/" in section
    assert 'href="tel:+33199000001"' in section
    assert "/recherche/?quoi=Plombier&amp;ou=Cr%C3%A9teil" in section, section[:2000]


def test_a_reachable_listing_shows_its_number_and_no_detour(client, creteil):
    _unnamed, unreachable, reachable = creteil
    html = client.get(f"/etablissement/{reachable.establishment.siret}/").content.decode()
    assert "<h1>Plomberie Joignable</h1>" in html and "01 99 00 00 01" in html
    assert 'id="nearby-title"' not in html
    # A named but unreachable one keeps its address and gets the detour.
    html = client.get(f"/etablissement/{unreachable.siret}/").content.decode()
    assert "<h1>Plomberie Sans Numéro</h1>" in html and "5 RUE DU PORT" in html
    assert 'id="nearby-title"' in html


def test_the_api_sms_and_portal_never_give_the_naf_label_as_a_name(client, creteil):
    from relais.privacy.services import _listing_name
    from relais.texts.services import listing_name

    unnamed, unreachable, _reachable = creteil
    data = client.get(f"/api/v1/establishments/{unnamed.siret}").json()
    assert (data["name"], data["named"]) == ("Plombier — nom non diffusé", False)
    data = client.get(f"/api/v1/establishments/{unreachable.siret}").json()
    assert (data["name"], data["named"]) == ("Plomberie Sans Numéro", True)
    hits = client.get("/api/v1/search?quoi=plombier&ou=Créteil").json()["results"]
    assert {h["name"]: h["named"] for h in hits}["Plombier — nom non diffusé"] is False
    assert unnamed.name not in [h["name"] for h in hits]  # the NAF label is no name
    claimed = f.listing(*offset(*CRETEIL, 1), ["plombier"], commune=CRETEIL_INSEE)
    claimed.establishment.__class__.objects.filter(pk=claimed.establishment.pk).update(
        name=unnamed.name, search_name="")
    claimed.establishment.refresh_from_db()  # a claimed listing without a trade name
    assert listing_name(claimed) == "Plombier — nom non diffusé"  # its SMS receipts
    assert _listing_name(claimed) == "Plombier — nom non diffusé"  # the caller portal
