"""The caller portal in a real browser (headless Chromium): the whole flow and bad input."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from relais.privacy.models import PortalChallenge
from relais.routing import services as routing
from relais.routing.models import Delivery
from relais.voicemail.models import Voicemail
from tests import factories as f
from tests.factories import NANTES, offset
from tests.helpers import Stored, audio_duration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def message(live_server, settings):
    settings.RELAIS_PUBLIC_URL = live_server.url
    called = f.listing(*NANTES, ["plombier"], email="appele@example.fr",
                       name="Plomberie Appelée")
    f.listing(*offset(*NANTES, 6), ["plombier"], email="voisin@example.fr",
              name="Plomberie Voisine")
    vm = f.voicemail(called)
    routing.route_voicemail(vm)
    return vm


def open_page(browser, errors):
    # A phone-sized window: the portal is mobile first.
    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="fr-FR")
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page


def ask_code(page, base, reference, number="06 12 34 56 78"):
    page.goto(base + "/appelant/")
    page.fill("input[name=reference]", reference)
    page.fill("input[name=number]", number)
    page.click("button[type=submit]")


def code_from_outbox(page, base) -> str:
    page.goto(base + "/demo/boite-d-envoi/?type=sms")
    text = page.locator(".outbox-message").first.inner_text()
    return re.search(r"code est (\d{6})", text).group(1)


def submit_code(page, base, code):
    if not page.url.endswith("/appelant/code/"):
        page.goto(base + "/appelant/code/")
    page.fill("input[name=code]", code)
    page.click("button[type=submit]")


def test_a_caller_sees_withdraws_and_erases_their_message(live_server, message, browser):
    base, vm = live_server.url, message
    files = [Stored(n) for n in (vm.audio.name, vm.extract.name)]
    errors = []
    page = open_page(browser, errors)
    ask_code(page, base, vm.reference)
    assert page.url.endswith("/appelant/code/")
    assert "un code à 6 chiffres vient d'être envoyé" in page.inner_text(".messages")
    submit_code(page, base, code_from_outbox(page, base))
    assert page.url.endswith("/appelant/message/")
    main = page.inner_text("main")
    assert f"Votre message {vm.reference}" in main and "fuite d'eau" in main
    recipients = page.inner_text("#recipients")
    assert "Plomberie Appelée" in recipients and "Plomberie Voisine" in recipients
    duration = audio_duration(page, "#content audio")
    assert duration == pytest.approx(1.0, abs=0.05)
    # No horizontal scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.click("#withdraw button")
    assert "Partage retiré" in page.inner_text(".messages")
    assert "retiré" in page.inner_text("#recipients")
    shared = Delivery.objects.get(voicemail=vm, kind="shared")
    assert shared.status in ("cancelled", "revoked")
    assert "retrait du partage" in page.inner_text("#journal")

    page.click("#erase button")  # the confirmation box is required
    assert page.url.endswith("/appelant/message/") and page.locator("#erased").count() == 0
    page.check("#erase input[name=confirm]")
    page.click("#erase button")
    assert "Votre message a été effacé" in page.inner_text(".messages")
    assert page.locator("#erased").count() == 1 and page.locator("audio").count() == 0
    assert "fuite d'eau" not in page.inner_text("main")
    vm.refresh_from_db()
    assert vm.status == Voicemail.Status.ERASED and not vm.transcript and not vm.caller_e164
    assert not any(p.exists() for p in files)
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_bad_input_wrong_codes_lock_expired_code_and_wrong_reference(live_server, message,
                                                                    browser, settings):
    base, vm = live_server.url, message
    errors = []
    page = open_page(browser, errors)
    # A wrong reference: the same answer as a right one, and no SMS.
    wrong_ref = "10000000" if vm.reference != "10000000" else "10000001"
    ask_code(page, base, wrong_ref)
    assert page.url.endswith("/appelant/code/")
    assert "un code à 6 chiffres vient d'être envoyé" in page.inner_text(".messages")
    page.goto(base + "/demo/boite-d-envoi/?type=sms")
    assert page.locator(".outbox-message").count() == 0
    # A malformed reference: a clear error on the form.
    ask_code(page, base, "12ab")
    assert "8 chiffres" in page.inner_text("[role=alert]")

    # Wrong codes until the challenge locks; then the right code is refused too.
    ask_code(page, base, vm.reference)
    code = code_from_outbox(page, base)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    submit_code(page, base, wrong)
    assert "Il vous reste 4 essais" in page.inner_text("[role=alert]")
    for _ in range(settings.RELAIS_OTP_MAX_ATTEMPTS - 1):
        submit_code(page, base, wrong)
    assert "bloqué" in page.inner_text("[role=alert]")
    submit_code(page, base, code)
    assert "bloqué" in page.inner_text("[role=alert]")
    page.goto(base + "/appelant/message/")
    assert page.url.endswith("/appelant/")

    # An expired code.
    ask_code(page, base, vm.reference)
    code = code_from_outbox(page, base)
    PortalChallenge.objects.filter(voicemail=vm, verified_at__isnull=True).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    submit_code(page, base, code)
    assert "expiré" in page.inner_text("[role=alert]")
    page.goto(base + "/appelant/message/")
    assert page.url.endswith("/appelant/")
    assert not [e for e in errors if "Content Security Policy" in e], errors
