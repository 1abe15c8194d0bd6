"""The search and listing pages in a real browser (Chromium through Playwright)."""

import pytest

from tests.factories import CRETEIL, lambert, row, run_import

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def page(browser, live_server):
    return browser.new_page()


@pytest.mark.django_db(transaction=True)
def test_search_then_open_a_listing(page, live_server, stock):
    lat, lon = CRETEIL
    rows = []
    for i in range(25):
        x, y = lambert(lat + i * 0.002, lon)
        rows.append(row(f"3{i:012d}1", enseigne1Etablissement=f"PLOMBERIE {i}",
                        coordonneeLambertAbscisseEtablissement=x,
                        coordonneeLambertOrdonneeEtablissement=y))
    run_import(stock(rows))

    page.goto(live_server.url + "/")
    page.fill("#quoi", "plombier")
    page.fill("#ou", "Créteil")
    page.click("button[type=submit]")
    page.wait_for_selector("ol.results li.result")
    names = page.locator("li.result h2").all_inner_texts()
    assert names[:3] == ["PLOMBERIE 0", "PLOMBERIE 1", "PLOMBERIE 2"] and len(names) == 20
    page.click("a[rel=next]")
    page.wait_for_selector("ol.results li.result")
    assert page.locator("li.result h2").all_inner_texts() == [f"PLOMBERIE {i}"
                                                             for i in range(20, 25)]
    page.click("text=PLOMBERIE 21")
    page.wait_for_selector("article.listing")
    text = page.inner_text("article.listing")
    assert "12 AVENUE DU GENERAL DE GAULLE" in text and "Plombier" in text
    assert "Créteil (94000)" in text


@pytest.mark.django_db(transaction=True)
def test_bad_search_shows_a_message(page, live_server):
    page.goto(live_server.url + "/recherche/?quoi=plombier&ou=Atlantide")
    assert "Lieu introuvable" in page.inner_text("[role=alert]")
