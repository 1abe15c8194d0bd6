"""The professional's call log and the admin actions."""

import pytest

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
