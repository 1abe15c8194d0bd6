"""The delivery page in a real browser (headless Chromium): the player plays, under the CSP."""

import pytest
from playwright.sync_api import sync_playwright

from relais.core.models import AuditEvent
from relais.routing import links, services
from relais.routing.models import Delivery
from tests.routing import factories as f
from tests.routing.factories import CALLER_FR, NANTES, offset

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_link_pages_play_their_recording_in_chromium(live_server, settings):
    settings.RELAIS_PUBLIC_URL = live_server.url
    called = f.listing(*NANTES, ["plombier"], email="appele@example.fr")
    f.listing(*offset(*NANTES, 6), ["plombier"], email="voisin@example.fr")
    vm = f.voicemail(called)
    services.route_voicemail(vm)
    own = Delivery.objects.get(voicemail=vm, kind="own")
    shared = Delivery.objects.get(voicemail=vm, kind="shared")
    urls = {d.kind: live_server.url + links.path(d) for d in (own, shared)}

    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(urls["own"])
        assert page.locator(".caller").inner_text().endswith(CALLER_FR)
        duration = page.evaluate("""() => new Promise((resolve, reject) => {
            const a = document.querySelector('audio');
            a.addEventListener('loadedmetadata', () => resolve(a.duration));
            a.addEventListener('error', () => reject('audio error ' + a.error.code));
            a.load();
        })""")
        assert duration == pytest.approx(1.0, abs=0.05)
        page.goto(urls["shared"])
        text = page.locator("main").inner_text()
        assert "[numéro]" in text and CALLER_FR not in text
        extract = page.evaluate("""() => new Promise((resolve, reject) => {
            const a = document.querySelector('audio');
            a.addEventListener('loadedmetadata', () => resolve(a.duration));
            a.addEventListener('error', () => reject('audio error ' + a.error.code));
            a.load();
        })""")
        assert extract == pytest.approx(0.5, abs=0.05)
        browser.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors
    assert AuditEvent.objects.filter(delivery_id=own.pk, action="audio.read").exists()
    assert AuditEvent.objects.filter(delivery_id=shared.pk, action="extract.read").exists()
