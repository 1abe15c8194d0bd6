"""Every page type in a browser that prefers English (headless Chromium, ``en-US``):
French throughout (no English day or month name), and no serious or critical axe-core
violation — public search and listing, the professional's login, space, inbox, message,
credits and call log, the caller portal, the demo phone and outbox (the operator's
console: tests/console/test_console_browser.py)."""

import re

import pytest
from playwright.sync_api import expect

from relais.calls.models import TrackingNumber
from relais.credits import services as credits
from relais.routing import services as routing
from relais.routing.models import Delivery
from tests import factories as f
from tests.factories import NANTES, TRACKING, offset
from tests.helpers import assert_accessible, assert_french

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL, PASSWORD = "plombier.a@example.fr", "motdepasse-solide-42"
def check(page, checked: list[str]) -> None:
    """French only (the visible text and the title), and accessible."""
    assert_french(page)
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
    # The browser draws a file input's button in its own language ("Choose File"): the
    # page lays the real input, transparent, over a French button.
    assert page.locator(".file-button").inner_text() == "Choisir un fichier"
    assert page.eval_on_selector("#id_audio", "e => getComputedStyle(e).opacity") == "0"
    expect(page.locator(".file-name")).to_have_text("Aucun fichier choisi")
    page.set_input_files("#id_audio", files=[
        {"name": "mon-message.wav", "mimeType": "audio/wav", "buffer": b"RIFF0000WAVE"}])
    expect(page.locator(".file-name")).to_have_text("mon-message.wav")
    page.goto(base + "/demo/boite-d-envoi/")
    check(page, checked)
    context.close()
    assert len(checked) == 14


def tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until ``selector`` has the keyboard focus (fails after ``limit`` presses)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"{selector} never gets the focus with Tab")


def test_navigation_fits_1280_and_390_and_the_keyboard_plays_and_calls(
        live_server, settings, browser):
    settings.RELAIS_PUBLIC_URL = live_server.url
    base = live_server.url
    pro = f.professional(EMAIL, username=EMAIL)
    mine = f.listing(*NANTES, ["plombier"], pro=pro, name="Plomberie Atlantique")
    mine.forward_number = f.FORWARD
    mine.save(update_fields=["forward_number"])
    TrackingNumber.objects.create(e164=TRACKING, listing=mine)
    vm = f.voicemail(mine, consent="private")
    routing.route_voicemail(vm)
    own = Delivery.objects.get(voicemail=vm, listing=mine)

    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="fr-FR")
    page.goto(base + "/pro/connexion/?next=/pro/")
    page.fill('input[name="username"]', EMAIL)
    page.fill('input[name="password"]', PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(base + "/pro/")
    items = "header.site .brand, header.site nav a, header.site nav button"
    tops = page.eval_on_selector_all(items, "els => els.map(e => e.getBoundingClientRect().top)")
    assert len(tops) >= 8 and max(tops) - min(tops) < 12, tops  # one line
    assert page.locator('header.site nav a[aria-current="page"]').inner_text() == "Messages"

    # The professional's player, by keyboard: Tab reaches it, Space plays it.
    page.goto(f"{base}/pro/messages/{own.pk}/")
    tab_to(page, "audio")
    page.keyboard.press("Space")
    page.wait_for_function("!document.querySelector('audio').paused")

    # A phone: nothing wider than the screen, every link of the navigation visible.
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/pro/", f"/pro/messages/{own.pk}/", "/pro/credits/", "/pro/appels/"):
        page.goto(base + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        for box in page.eval_on_selector_all(
                items, "els => els.map(e => e.getBoundingClientRect().toJSON())"):
            assert box["left"] >= 0 and box["right"] <= 390 and box["width"] > 0, (path, box)

    # The demo phone, by keyboard only: a listing, the sample message, call.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(base + "/demo/telephone/")
    tab_to(page, "select[name=listing_number]")
    page.keyboard.press("ArrowDown")
    tab_to(page, "input[name=sample]")
    page.keyboard.press("Space")
    tab_to(page, "#call-button")
    page.keyboard.press("Enter")
    page.wait_for_selector(".demo-result .reference")
    assert page.locator(".reference").inner_text().isdigit()
