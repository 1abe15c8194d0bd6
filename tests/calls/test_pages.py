"""The professional's call log, the admin actions, and the demo phone without JavaScript."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from relais.calls.models import BlockedCaller, Call, TrackingNumber
from relais.voicemail.models import Voicemail
from tests.calls.conftest import CALLER, TRACKING, make_listing

pytestmark = pytest.mark.django_db


def test_professionals_see_only_their_own_calls(client, phone, tracking, wav):
    other = make_listing(siret="98765432100019", name="Serrurerie Dupont",
                         email="dupont@example.org")
    TrackingNumber.objects.create(e164="+33199000002", listing=other)
    phone.call(TRACKING, CALLER, wav, consent="share")
    phone.call(TRACKING, "anonymous", answer="answer")
    phone.call("+33199000002", "+33639980077", answer="answer")

    assert client.get("/pro/appels/").status_code == 302  # login required
    client.force_login(tracking.listing.professional.user)
    page = client.get("/pro/appels/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count("<tr>") == 3  # header + two calls
    assert "06 39 98 00 01" in html and CALLER not in html  # French-formatted
    assert "numéro masqué" in html
    assert Voicemail.objects.get().reference in html
    assert "message laissé" in html and "répondu" in html
    assert "Serrurerie Dupont" not in html and "06 39 98 00 77" not in html

    client.force_login(other.professional.user)
    html = client.get("/pro/appels/").content.decode()
    assert "06 39 98 00 77" in html and "06 39 98 00 01" not in html


def test_operator_blocks_and_unblocks_callers_from_the_admin(admin_client, phone, tracking):
    phone.call(TRACKING, CALLER, answer="answer")
    call = Call.objects.get()
    r = admin_client.post("/admin/calls/call/",
                          {"action": "block_callers", "_selected_action": [call.pk]}, follow=True)
    assert "1 appelant(s) bloqué(s)." in r.content.decode()
    assert phone.call(TRACKING, CALLER, answer="answer").dialed is None  # refused now
    blocked = BlockedCaller.objects.get(e164=CALLER)
    r = admin_client.post("/admin/calls/blockedcaller/",
                          {"action": "unblock", "_selected_action": [blocked.pk]}, follow=True)
    assert "1 appelant(s) débloqué(s)." in r.content.decode()
    assert phone.call(TRACKING, CALLER, answer="answer").dialed is not None
    # Numbers typed by the operator are stored E.164.
    admin_client.post("/admin/calls/blockedcaller/add/", {"e164": "06 39 98 00 05", "reason": ""})
    assert BlockedCaller.objects.filter(e164="+33639980005").exists()
    for page in ("calls/call/", "calls/trackingnumber/", "calls/blockedcaller/", "calls/prompt/",
                 f"calls/call/{call.pk}/change/", "calls/prompt/add/"):
        assert admin_client.get(f"/admin/{page}").status_code == 200, page


def test_demo_phone_works_without_javascript(client, tracking, wav):
    page = client.get("/demo/telephone/")
    assert page.status_code == 200
    assert "Plomberie Martin — 01 99 00 00 01" in page.content.decode()
    r = client.post("/demo/telephone/", {
        "listing_number": TRACKING, "to_number": "", "caller": "06 39 98 00 09",
        "outcome": "no-answer", "consent": "private",
        "audio": SimpleUploadedFile("m.wav", wav, content_type="audio/wav"),
    })
    vm = Voicemail.objects.get()
    assert vm.consent == "private" and vm.caller_e164 == "+33639980009"
    assert f'<strong class="reference">{vm.reference}</strong>' in r.content.decode()
    # A message is required unless the professional answers.
    r = client.post("/demo/telephone/", {"to_number": "01 99 00 00 01", "caller": CALLER,
                                         "outcome": "busy", "consent": "none"})
    assert "Enregistrez ou choisissez un message." in r.content.decode()


def test_demo_phone_only_on_demo_sites(client, settings):
    settings.RELAIS_DEMO = False
    assert client.get("/demo/telephone/").status_code == 404
