"""The console in a real browser (headless Chromium, preferring English): every chart
drawn, no console error (under the CSP), French and no serious axe-core violation on the
console and the moderation page, and the moderation page's keyboard shortcut."""

import os
from datetime import timedelta

import pytest

from relais.console import summary
from relais.routing.models import RoutingDecision
from tests.helpers import assert_accessible, assert_french


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_console_draws_every_chart_and_moderates_from_the_keyboard(live_server, browser,
                                                                       traffic):
    today = summary.local_day(traffic["now"])
    summary.refresh(today - timedelta(days=31), today + timedelta(days=1))
    errors = []
    # A browser that prefers English: the console is French all the same.
    page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="en-US",
                            extra_http_headers={"Accept-Language": "en-US,en;q=0.9"})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    # Chromium asks for /favicon.ico on its own (404, logged as a console error): the
    # pages' own requests must all succeed.
    failed = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400
            and not r.url.endswith("/favicon.ico") else None)
    page.goto(f"{live_server.url}/operateur/")
    assert "/admin/login/" in page.url  # anonymous: the login first
    page.fill("#id_username", "moderateur")
    page.fill("#id_password", "motdepasse-42")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/operateur/")

    charts = page.locator("svg.chart")
    assert charts.count() == 7
    for i in range(charts.count()):
        chart = charts.nth(i)
        name = chart.get_attribute("data-chart")
        box = chart.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 30, name
        marks = chart.locator(".mark:not(.empty)")
        assert marks.count() >= 1, f"{name}: nothing drawn"
        mark = marks.first.bounding_box()
        assert mark and mark["width"] > 0 and mark["height"] > 0, name
    assert page.locator("#kpi-messages .n").inner_text() == "5"
    assert_french(page)
    assert_accessible(page)
    if os.environ.get("RELAIS_SCREENSHOT"):  # docs/img/console.png (see docs/console.md)
        page.screenshot(path=os.environ["RELAIS_SCREENSHOT"], full_page=True)

    page.click("text=messages à modérer")
    page.click("#commencer")
    assert "6,0 km" in page.locator("#destinataires").inner_text()
    assert_french(page)
    assert_accessible(page)
    page.keyboard.press("a")
    page.wait_for_url(f"{live_server.url}/operateur/moderation/")
    assert "Rien à modérer" in page.locator("main").inner_text()
    page.close()
    assert failed == []
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []
    assert len(errors) <= 1  # at most the favicon's 404
    decision = RoutingDecision.objects.get(voicemail=traffic["vms"][2])
    assert decision.moderation == "approved"
