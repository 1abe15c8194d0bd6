"""The delivery page in a real browser (headless Chromium): the player plays, under the CSP."""

import pytest

from relais.core.models import AuditEvent
from relais.routing import links
from tests import factories as f
from tests.factories import CALLER_FR, NANTES, offset
from tests.helpers import audio_duration


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_link_pages_play_their_recording_in_chromium(live_server, settings, browser):
    settings.RELAIS_PUBLIC_URL = live_server.url
    called = f.listing(*NANTES, ["plombier"], email="appele@example.fr")
    f.listing(*offset(*NANTES, 6), ["plombier"], email="voisin@example.fr")
    own, (shared,) = f.route(f.voicemail(called))
    urls = {d.kind: live_server.url + links.path(d) for d in (own, shared)}

    errors = []
    page = browser.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(urls["own"])
    assert page.locator(".caller").inner_text().endswith(CALLER_FR)
    duration = audio_duration(page)
    assert duration == pytest.approx(1.0, abs=0.05)
    page.goto(urls["shared"])
    text = page.locator("main").inner_text()
    assert "[numéro]" in text and CALLER_FR not in text
    extract = audio_duration(page)
    assert extract == pytest.approx(0.5, abs=0.05)
    page.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors
    assert AuditEvent.objects.filter(delivery_id=own.pk, action="audio.read").exists()
    assert AuditEvent.objects.filter(delivery_id=shared.pk, action="extract.read").exists()
