"""The calls admin actions (the call log: tests/space; the demo phone: tests/demo)."""

import pytest

from relais.calls.models import BlockedCaller, Call
from tests.factories import PHONE_CALLER as CALLER
from tests.factories import TRACKING

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
