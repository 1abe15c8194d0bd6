"""The calls admin actions, and the demo phone without JavaScript (the call log: tests/space)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from relais.calls.models import BlockedCaller, Call
from relais.voicemail.models import Voicemail
from tests.calls.conftest import CALLER, TRACKING

pytestmark = pytest.mark.django_db


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
