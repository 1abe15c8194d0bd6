import json
from pathlib import Path

import pytest
from django.utils import timezone
from openapi_schema_validator import OAS30Validator

from relais.calls.models import TrackingNumber
from relais.directory import search
from relais.directory.models import Establishment
from relais.pros.models import Listing, Professional
from relais.pros.services import approve
from tests.factories import CRETEIL, lambert, row, run_import

pytestmark = pytest.mark.django_db

SPEC = json.loads((Path(search.__file__).parent / "data" / "openapi.json").read_text())


def schema(name):
    return OAS30Validator({**SPEC["components"]["schemas"][name],
                           "components": SPEC["components"]})


def siret(i: int) -> str:
    return f"3{i:012d}1"


@pytest.fixture
def directory(stock):
    """45 plumbers due north of Créteil every 400 m, a few others."""
    lat0, lon0 = CRETEIL
    rows = []
    for i in range(45):
        x, y = lambert(lat0 + i * 0.0036, lon0)
        rows.append(row(siret(i), enseigne1Etablissement=f"PLOMBIER NUMERO {i}",
                        coordonneeLambertAbscisseEtablissement=x,
                        coordonneeLambertOrdonneeEtablissement=y))
    x, y = lambert(lat0 - 0.01, lon0)
    rows += [
        row(siret(100), activitePrincipaleEtablissement="43.21A",
            enseigne1Etablissement="ELEC DUPONT", coordonneeLambertAbscisseEtablissement=x,
            coordonneeLambertOrdonneeEtablissement=y),
        row(siret(101), activitePrincipaleEtablissement="43.21A", enseigne1Etablissement="",
            statutDiffusionEtablissement="P", libelleVoieEtablissement="[ND]",
            numeroVoieEtablissement="[ND]", coordonneeLambertAbscisseEtablissement="[ND]",
            coordonneeLambertOrdonneeEtablissement="[ND]"),
        row(siret(102), etatAdministratifEtablissement="F"),
        row(siret(103), codeCommuneEtablissement="75111", codePostalEtablissement="75011",
            coordonneeLambertAbscisseEtablissement="", enseigne1Etablissement="SERRURERIE",
            activitePrincipaleEtablissement="43.32B"),
        row(siret(104), activitePrincipaleEtablissement="82.30Z",
            enseigne1Etablissement="EVENTS MARTIN"),
    ]
    run_import(stock(rows))


def run(**params):
    return search.search(search.parse(params))


def test_metier_search_nearest_first_with_distances_and_pages(directory):
    first = run(quoi="plombier", ou="Créteil")
    assert first.metier["slug"] == "plombier"
    distances = [h.distance_km for h in first.hits]
    assert len(distances) == 20 and distances == sorted(distances)
    assert first.hits[0].establishment.siret == siret(0) and distances[0] < 0.1
    assert abs(first.hits[10].distance_km - 4.0) < 0.1  # 10 × 400 m
    assert first.has_next and not first.has_previous
    second = run(quoi="plombiers", ou="94000", page="2")
    assert second.hits[0].distance_km >= distances[-1]
    assert {h.establishment.siret for h in second.hits}.isdisjoint(
        {h.establishment.siret for h in first.hits})
    third = run(quoi="Plombier", ou="Créteil", page="3")
    assert len(third.hits) == 5 and not third.has_next
    # Closed establishments never show.
    assert siret(102) not in {h.establishment.siret for h in first.hits + second.hits + third.hits}


def test_radius_limits_results(directory):
    result = run(quoi="plombier", ou="Créteil", radius_km="2.1")
    assert [h.establishment.siret for h in result.hits] == [siret(i) for i in range(6)]


def test_place_by_name_postal_code_and_position(directory):
    by_name = run(quoi="serrurier", ou="Paris 11e")
    by_postal = run(quoi="serrurier", ou="75011")
    by_position = run(quoi="serrurier", lat="48.859", lon="2.380")
    for result in (by_name, by_postal, by_position):
        assert [h.establishment.siret for h in result.hits] == [siret(103)]
    assert by_position.hits[0].distance_km < 0.5


def test_phrases_and_free_text_on_names(directory):
    assert run(quoi="fuite d'eau", ou="Créteil").metier["slug"] == "plombier"
    named = run(quoi="dupont", ou="Créteil")
    assert named.metier is None
    assert [h.establishment.siret for h in named.hits] == [siret(100)]
    assert [h.establishment.siret for h in run(quoi="numero 44", ou="Créteil").hits] == [
        siret(44)]
    assert run(quoi="zzzzqqq", ou="Créteil").hits == []
    # A word's beginning finds the names with the whole word.
    assert [h.establishment.siret for h in run(quoi="elec dupon", ou="Créteil").hits] == [
        siret(100)]


def test_claimed_listings_follow_their_professional_s_metiers(directory, django_user_model):
    user = django_user_model.objects.create_user("pro@example.org", "pro@example.org", "x")
    pro = Professional.objects.create(user=user, email_verified_at=timezone.now())
    event = Listing.objects.create(establishment_id=siret(104), professional=pro)
    plumber = Listing.objects.create(establishment_id=siret(0), professional=pro)
    approve([event, plumber])
    # 82.30Z is no default for flea markets: nobody shows up until a pro chooses it.
    assert run(quoi="organisateur de brocantes", ou="Créteil").hits == []
    event.metiers.add("organisateur-brocantes")
    hits = run(quoi="vide-grenier", ou="Créteil").hits
    assert [h.establishment.siret for h in hits] == [siret(104)]
    # A plumber who dropped "plombier" no longer appears for it.
    plumber.metiers.set(["chauffagiste"])
    assert siret(0) not in {h.establishment.siret for h in run(quoi="plombier", ou="Créteil").hits}
    # Only approved listings' choices count: a pending claim changes nothing yet.
    pending = Listing.objects.create(establishment_id=siret(1), professional=pro)
    pending.metiers.set(["chauffagiste"])
    assert siret(1) in {h.establishment.siret for h in run(quoi="plombier", ou="Créteil").hits}
    # A chosen métier does not bring back a closed establishment.
    Establishment.objects.filter(siret=siret(104)).update(active=False)
    assert run(quoi="vide-grenier", ou="Créteil").hits == []


@pytest.mark.parametrize("params, field, status", [
    ({"quoi": "", "ou": "Créteil"}, "quoi", 400),
    ({"ou": "Créteil"}, "quoi", 400),
    ({"quoi": "  \x00 ", "ou": "Créteil"}, "quoi", 200),
    ({"quoi": "plombier"}, "ou", 200),
    ({"quoi": "plombier", "ou": "Atlantide"}, "ou", 200),
    ({"quoi": "plombier", "lat": "48.8"}, "lat", 200),
    ({"quoi": "x" * 10_000, "ou": "Créteil"}, "quoi", 400),
    ({"quoi": "plombier", "ou": "y" * 10_000}, "ou", 400),
    ({"quoi": "plombier", "lat": "nan", "lon": "2"}, "lat", 400),
    ({"quoi": "plombier", "lat": "91", "lon": "2"}, "lat", 400),
    ({"quoi": "plombier", "lat": "48", "lon": "1e400"}, "lon", 400),
    ({"quoi": "plombier", "ou": "Créteil", "radius_km": "-5"}, "radius_km", 400),
    ({"quoi": "plombier", "ou": "Créteil", "radius_km": "inf"}, "radius_km", 400),
    ({"quoi": "plombier", "ou": "Créteil", "page": "0"}, "page", 400),
    ({"quoi": "plombier", "ou": "Créteil", "page": "abc"}, "page", 400),
    ({"quoi": "plombier", "ou": "Créteil", "page": "٣"}, "page", 400),
    ({"quoi": "plombier", "ou": "Créteil", "page": "99999999999999999999"}, "page", 400),
])
def test_bad_input_gets_a_message_never_a_500(client, directory, params, field, status):
    """Malformed values: 400. Well-formed input leading nowhere: an empty page."""
    response = client.get("/api/v1/search", params)
    assert response.status_code == status
    body = response.json()
    assert body["field"] == field and body["message"]
    if status == 400:
        schema("Error").validate(body)
    else:
        schema("SearchPage").validate(body)
        assert body["results"] == [] and body["place"] is None
    page = client.get("/recherche/", params)
    assert page.status_code == 400
    assert body["message"].split("«")[0].strip()[:20] in page.content.decode()


@pytest.mark.parametrize("name", ["lat", "lon", "radius_km", "page"])
def test_api_numbers_given_empty_are_malformed_but_the_form_sends_empty_fields(client,
                                                                                directory,
                                                                                name):
    params = {"quoi": "plombier", "ou": "Créteil", name: ""}
    response = client.get("/api/v1/search", params)
    assert response.status_code == 400
    body = response.json()
    schema("Error").validate(body)
    assert body["field"] == name
    # The HTML form submits its empty position fields: the page still searches.
    assert client.get("/recherche/", params).status_code == 200


def test_api_answers_other_methods_with_405(client, directory):
    for method in ("post", "put", "delete"):
        assert getattr(client, method)("/api/v1/search").status_code == 405
        assert getattr(client, method)(f"/api/v1/establishments/{siret(0)}").status_code == 405


@pytest.mark.parametrize("quoi", ["%", "_", "'; DROP TABLE x; --", "\x00", "😀", "a", "<script>",
                                  "%%%%", "plombier\u202e"])
def test_garbage_queries_answer_without_error(client, directory, quoi):
    response = client.get("/api/v1/search", {"quoi": quoi, "ou": "Créteil"})
    assert response.status_code in (200, 400)
    assert client.get("/recherche/", {"quoi": quoi, "ou": "Créteil"}).status_code in (200, 400)


def test_search_api_page_matches_the_openapi_schema(client, directory):
    body = client.get("/api/v1/search", {"quoi": "plombier", "ou": "Créteil"}).json()
    schema("SearchPage").validate(body)
    assert body["metier"] == "plombier" and body["has_next"] and body["page"] == 1
    assert [r["distance_km"] for r in body["results"]] == sorted(
        r["distance_km"] for r in body["results"])
    assert body["results"][0]["metiers"] == ["plombier"]
    nxt = client.get(body["next"]).json()
    assert nxt["page"] == 2 and nxt["has_previous"]


def test_establishment_api_and_tracking_number(client, directory, django_user_model):
    body = client.get(f"/api/v1/establishments/{siret(0)}").json()
    schema("Establishment").validate(body)
    assert body == {
        "siret": siret(0), "name": "PLOMBIER NUMERO 0", "named": True, "naf": "43.22A",
        "metiers": ["plombier"], "commune": "Créteil", "postal_code": "94000",
        "latitude": body["latitude"], "longitude": body["longitude"], "active": True,
        "claimed": False, "tracking_number": None,
    }
    assert abs(body["latitude"] - CRETEIL[0]) < 0.001
    user = django_user_model.objects.create_user("p@example.org", "p@example.org", "x")
    pro = Professional.objects.create(user=user, email_verified_at=timezone.now())
    listing = Listing.objects.create(establishment_id=siret(0), professional=pro)
    TrackingNumber.objects.create(e164="+33199004321", listing=listing)
    assert client.get(f"/api/v1/establishments/{siret(0)}").json()["tracking_number"] is None
    approve([listing])
    body = client.get(f"/api/v1/establishments/{siret(0)}").json()
    assert body["claimed"] and body["tracking_number"] == "+33199004321"
    page = client.get(f"/etablissement/{siret(0)}/").content.decode()
    assert "01 99 00 43 21" in page
    missing = client.get("/api/v1/establishments/39999999999999")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    for odd in ("abc", "123/456", "%00", "3" * 15, "٣" * 14):
        response = client.get(f"/api/v1/establishments/{odd}")
        assert response.status_code == 400 and response["Content-Type"] == "application/json"


def test_api_search_results_are_what_the_establishment_api_says(client, directory, settings,
                                                                django_user_model):
    """The API reads a page of results as rows (``services.payloads``, no ORM for the
    unclaimed): each result is exactly the establishment's own API answer plus its
    distance, and the page is the search's ranking, whatever the listing's state."""
    settings.RELAIS_SEARCH_CACHE_SECONDS = 0
    user = django_user_model.objects.create_user("p@example.org", "p@example.org", "x")
    pro = Professional.objects.create(user=user, email_verified_at=timezone.now())
    claimed, released, pending = (Listing.objects.create(establishment_id=siret(i),
                                                         professional=pro) for i in (1, 2, 3))
    approve([claimed, released])
    claimed.metiers.set(["plombier", "chauffagiste"])
    TrackingNumber.objects.create(e164="+33199001111", listing=claimed)
    TrackingNumber.objects.create(e164="+33199002222", listing=released,
                                  released_at=timezone.now())
    pending.metiers.set(["chauffagiste"])
    searches = [{"quoi": "plombier", "ou": "Créteil"},
                {"quoi": "plombier", "ou": "Créteil", "page": "3"},
                {"quoi": "électricien", "ou": "Créteil"},  # an unnamed one, no coordinates
                {"quoi": "serrurier", "ou": "75011"}, {"quoi": "dupont", "ou": "94000"}]
    seen = {}
    for params in searches:
        results = client.get("/api/v1/search", params).json()["results"]
        hits = run(**params).hits
        assert [(r["siret"], r["distance_km"]) for r in results] == [
            (h.establishment.siret, h.distance_km) for h in hits] != []
        for r in results:
            own = client.get(f"/api/v1/establishments/{r['siret']}").json()
            assert r == {**own, "distance_km": r["distance_km"]}
            seen[r["siret"]] = r
    assert (seen[siret(1)]["claimed"], seen[siret(1)]["tracking_number"],
            seen[siret(1)]["metiers"]) == (True, "+33199001111", ["plombier", "chauffagiste"])
    assert (seen[siret(2)]["claimed"], seen[siret(2)]["tracking_number"]) == (True, None)
    assert (seen[siret(3)]["claimed"], seen[siret(3)]["metiers"]) == (False, ["plombier"])
    assert seen[siret(101)]["named"] is False and seen[siret(101)]["name"].endswith(
        "nom non diffusé")


def test_a_page_read_as_rows_keeps_the_ranking_and_leaves_out_what_is_gone(directory):
    from relais.directory.services import payloads

    page = payloads([(0.5, siret(5)), (0.2, "39999999999999"), (1.004, siret(0))])
    assert [(p["siret"], p["distance_km"]) for p in page] == [(siret(5), 0.5), (siret(0), 1.0)]
    assert payloads([]) == []


def test_the_api_sets_no_cookie_and_keeps_the_security_headers(client, directory):
    """A public JSON answer writes no session or CSRF cookie (none is needed, and none
    would be cached), and carries the same security headers as the pages."""
    response = client.get("/api/v1/search", {"quoi": "plombier", "ou": "Créteil"})
    assert response.status_code == 200 and not response.cookies
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_partial_diffusion_hides_the_address_in_page_and_api(client, directory):
    page = client.get(f"/etablissement/{siret(101)}/").content.decode()
    assert "non diffusée" in page and "GENERAL DE GAULLE" not in page and "[ND]" not in page
    full = client.get(f"/etablissement/{siret(100)}/").content.decode()
    assert "12 AVENUE DU GENERAL DE GAULLE" in full
    body = client.get(f"/api/v1/establishments/{siret(101)}").content.decode()
    assert "GAULLE" not in body and "[ND]" not in body
    assert Establishment.objects.get(siret=siret(101)).address == ""


def test_search_page_renders_results_and_pagination(client, directory):
    page = client.get("/recherche/", {"quoi": "plombier", "ou": "Créteil"}).content.decode()
    assert "PLOMBIER NUMERO 0" in page and "PLOMBIER NUMERO 19" in page
    assert "PLOMBIER NUMERO 20" not in page
    assert 'rel="next"' in page and "page=2" in page
    assert "400 m" in page
    assert client.get("/recherche/").status_code == 200


def test_openapi_description_is_served_and_valid(client):
    from openapi_spec_validator import validate

    response = client.get("/api/v1/openapi.json")
    assert response["Content-Type"] == "application/json"
    spec = response.json()
    validate(spec)
    assert set(spec["paths"]) == {"/api/v1/establishments/{siret}", "/api/v1/search"}
