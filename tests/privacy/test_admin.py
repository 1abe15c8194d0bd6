"""Operators read the audit trail in the admin, read-only; they can erase on request."""


import pytest

from relais.core import audit
from relais.core.models import AuditEvent
from relais.privacy.models import Erasure
from relais.voicemail.models import Voicemail
from tests import factories as f
from tests.helpers import Stored

pytestmark = pytest.mark.django_db

TRAIL = "/admin/core/auditevent/"


@pytest.fixture
def operator(client):
    user = f.staff("operatrice", [
        "view_auditevent", "view_voicemail", "change_voicemail", "add_auditevent",
        "change_auditevent", "delete_auditevent"])
    client.force_login(user)
    return user


def test_the_trail_is_filtered_by_reference_actor_and_action_and_read_only(client, operator):
    one, two = f.voicemail(None, audio=False), f.voicemail(None, audio=False)
    audit.record(actor=audit.Actor.operator(operator), action=audit.READ_TRANSCRIPT,
                 voicemail=one)
    audit.record(actor=audit.Actor.system("conservation"), action=audit.PURGED_AUDIO,
                 voicemail=two)
    page = client.get(TRAIL, {"voicemail_reference": one.reference}).content.decode()
    assert one.reference in page and two.reference not in page
    assert "lecture de la transcription" in page
    page = client.get(TRAIL, {"actor_kind": "system"}).content.decode()
    assert two.reference in page and one.reference not in page
    page = client.get(TRAIL, {"action": "retention.audio"}).content.decode()
    assert two.reference in page and one.reference not in page
    # Even with every permission, nobody adds, changes or deletes an event.
    event = AuditEvent.objects.get(voicemail_id=one.pk)
    assert client.get(TRAIL + "add/").status_code == 403
    change = client.post(f"{TRAIL}{event.pk}/change/", {"action": "x"})
    assert change.status_code == 403
    assert client.get(f"{TRAIL}{event.pk}/delete/").status_code == 403
    bulk = client.post(TRAIL, {"action": "delete_selected", "_selected_action": [event.pk]})
    assert bulk.status_code in (200, 302)
    assert AuditEvent.objects.get(pk=event.pk).action == audit.READ_TRANSCRIPT
    # Each message's admin page links to its trail.
    detail = client.get(f"/admin/voicemail/voicemail/{one.pk}/change/").content.decode()
    assert f"{TRAIL}?voicemail_reference={one.reference}" in detail


def test_an_operator_erases_a_message_on_request(client, operator,
                                                 django_capture_on_commit_callbacks):
    vm = f.voicemail(None)
    paths = [Stored(n) for n in (vm.audio.name, vm.extract.name)]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/voicemail/voicemail/",
                               {"action": "erase_messages", "_selected_action": [str(vm.pk)]},
                               follow=True)
    assert "1 message(s) effacé(s)." in response.content.decode()
    vm.refresh_from_db()
    assert vm.status == Voicemail.Status.ERASED and not vm.transcript
    assert not any(p.exists() for p in paths)
    assert Erasure.objects.get(voicemail_id=vm.pk).requested_by == "operator"
    event = AuditEvent.objects.get(voicemail_id=vm.pk, action="voicemail.erased")
    assert (event.actor_kind, event.actor_user_id) == ("operator", operator.pk)
    # The erased message's admin page shows nothing personal and no player.
    page = client.get(f"/admin/voicemail/voicemail/{vm.pk}/change/").content.decode()
    assert "Nadia" not in page and "<audio" not in page and "+33612345678" not in page
