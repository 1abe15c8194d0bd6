"""Every page type in a browser that prefers English (headless Chromium, ``en-US``):
French throughout (no English day or month name), and no serious or critical axe-core
violation — public search and listing, the professional's login, space, inbox, message,
credits and call log, the caller portal, the demo phone and outbox."""

import re

import pytest

from relais.calls.models import TrackingNumber
from relais.credits import services as credits
from relais.routing import services as routing
from relais.routing.models import Delivery
from tests import factories as f
from tests.factories import NANTES, TRACKING, offset
from tests.helpers import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL, PASSWORD = "plombier.a@example.fr", "motdepasse-solide-42"
ENGLISH = re.compile(
    r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|March"
    r"|April|June|July|August|September|October|November|December|yesterday|today"
    r"|tomorrow|ago|hours?|days?|[ap]\.m\.)\b", re.IGNORECASE)


def check(page, checked: list[str]) -> None:
    """French only (the visible text and the title), and accessible."""
    text = page.locator("body").inner_text() + " " + page.title()
    english = ENGLISH.findall(text)
    assert not english, f"{page.url}: English words {english}"
    assert page.locator("html").get_attribute("lang") == "fr"
    assert_accessible(page)
    checked.append(page.url)


def test_every_page_type_is_french_and_accessible_in_an_english_browser(
        live_server, settings, operator, browser):
    settings.RELAIS_PUBLIC_URL = live_server.url
    base = live_server.url
    pro = f.professional(EMAIL, username=EMAIL)
    mine = f.listing(*NANTES, ["plombier"], pro=pro, name="Plomberie Atlantique")
    TrackingNumber.objects.create(e164=TRACKING, listing=mine)
    f.listing(*offset(*NANTES, 8), ["plombier"], name="Plomberie Voisine")
    own_vm = f.voicemail(mine, consent="private")
    routing.route_voicemail(own_vm)
    own = Delivery.objects.get(voicemail=own_vm, listing=mine)
    credits.grant(pro, 2, by=operator, note="bienvenue")

    context = browser.new_context(
        locale="en-US", timezone_id="America/New_York",
        extra_http_headers={"Accept-Language": "en-US,en;q=0.9"},
    )
    page = context.new_page()
    checked: list[str] = []

    # Public: home, search, a listing.
    page.goto(base + "/")
    check(page, checked)
    page.goto(base + "/recherche/?quoi=plombier&ou=Nantes")
    assert page.locator("text=Plomberie Atlantique").count() >= 1
    check(page, checked)
    page.goto(f"{base}/etablissement/{mine.establishment.siret}/")
    check(page, checked)

    # The professional: login, inbox, message, credits, call log.
    page.goto(base + "/pro/connexion/?next=/pro/")
    check(page, checked)
    page.locator('input[name="username"]').fill(EMAIL)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(base + "/pro/")
    check(page, checked)
    page.goto(f"{base}/pro/messages/{own.pk}/")
    assert re.search(r"reçu le (lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche) \d",
                     page.locator("main").inner_text())
    check(page, checked)
    for path in ("/pro/credits/", "/pro/appels/"):
        page.goto(base + path)
        check(page, checked)

    # The caller portal: ask for a code, read it in the demo outbox, see the message.
    page.goto(base + "/appelant/")
    check(page, checked)
    page.fill("input[name=reference]", own_vm.reference)
    page.fill("input[name=number]", f.CALLER_FR)
    page.click("button[type=submit]")
    page.wait_for_url("**/appelant/code/")
    check(page, checked)
    page.goto(base + "/demo/boite-d-envoi/?type=sms")
    check(page, checked)
    code = re.search(r"code est (\d{6})", page.locator(".outbox-message").first.inner_text())
    page.goto(base + "/appelant/code/")
    page.fill("input[name=code]", code.group(1))
    page.click("button[type=submit]")
    page.wait_for_url("**/appelant/message/")
    check(page, checked)

    # The demo: the local phone, the e-mail outbox.
    page.goto(base + "/demo/telephone/")
    check(page, checked)
    page.goto(base + "/demo/boite-d-envoi/")
    check(page, checked)
    context.close()
    assert len(checked) == 14
