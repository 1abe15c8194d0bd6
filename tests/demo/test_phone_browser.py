"""The demo phone places a call end to end in a real browser (Debian's Chromium)."""

import pytest

from relais.calls.models import TrackingNumber
from relais.voicemail.models import PipelineStep, Voicemail
from tests.clips import speak
from tests.factories import TRACKING, make_listing
from tests.helpers import drain


@pytest.fixture
def spoken_wav(tmp_path):
    return speak("Bonjour, j'ai une fuite d'eau sous l'évier, pouvez-vous me rappeler ?",
                 tmp_path / "message.wav")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_demo_phone_leaves_a_shared_message(live_server, settings, spoken_wav, browser):
    settings.RELAIS_PUBLIC_URL = live_server.url  # where the worker downloads from
    TrackingNumber.objects.create(e164=TRACKING, listing=make_listing())
    errors = []
    page = browser.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # CSP violations and script errors show as console errors; failed loads are
    # checked by status (the browser's own /favicon.ico request is not ours).
    page.on("console", lambda m: m.type == "error" and not m.text.startswith(
        "Failed to load resource") and errors.append(m.text))
    page.on("response", lambda r: r.status >= 400 and not r.url.endswith(
        "/favicon.ico") and errors.append(f"{r.status} {r.url}"))
    page.goto(f"{live_server.url}/demo/telephone/")
    assert page.locator(".recorder").is_visible()  # the JS ran under the CSP
    page.select_option("#id_listing_number", TRACKING)
    page.fill("#id_caller", "06 39 98 00 42")
    page.set_input_files("#id_audio", str(spoken_wav))
    page.check("input[name=outcome][value=no-answer]")
    page.check("input[name=consent][value=share]")
    page.click("#call-button")
    reference = page.locator("strong.reference").inner_text(timeout=30_000)
    heard = page.locator("ol.heard li").all_inner_texts()
    page.close()
    assert errors == []
    assert reference.isdigit() and len(reference) == 8
    assert heard[1] == "[bip]" and ", ".join(reference) in heard[-1]
    vm = Voicemail.objects.get(reference=reference)
    assert (vm.consent, vm.caller_e164) == ("share", "+33639980042")
    assert vm.consent_recorded_at is not None
    drain()
    vm.refresh_from_db()
    assert PipelineStep.objects.get(voicemail=vm, name="fetch").status == "done"
    assert vm.audio.read() == spoken_wav.read_bytes()
