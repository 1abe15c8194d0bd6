"""The demo-mode banner: on every page while RELAIS_DEMO is on, nowhere otherwise."""

import re

import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/", "/recherche/", "/appelant/", "/pro/connexion/",
         "/pro/inscription/", "/demo/telephone/", "/demo/boite-d-envoi/"]
BANNER = re.compile(
    r'<div class="demo-banner" role="region" aria-label="Mode démonstration">\s*'
    r"<p><strong>Mode démonstration</strong> : données fictives ; la boîte d'envoi "
    r"affiche liens et codes à tout le monde.</p>\s*</div>")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_shows_the_banner_in_demo_mode(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    # Once, first thing in the body (before the site header), in a labelled region
    # (a landmark: axe's "region" rule wants all content inside one).
    assert len(BANNER.findall(html)) == 1
    assert html.index('class="demo-banner"') < html.index('<header class="site">')


@pytest.mark.parametrize("path", PAGES[:5])
def test_no_banner_and_no_demo_links_outside_demo_mode(client, settings, path):
    settings.RELAIS_DEMO = False
    html = client.get(path).content.decode()
    assert "demo-banner" not in html and "Mode démonstration" not in html
    assert "/demo/" not in html
