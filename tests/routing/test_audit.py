"""The audit trail is append-only in the application."""

import pytest

from relais.core import audit
from relais.core.models import AppendOnlyError, AuditEvent
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_audit_events_can_be_added_but_never_changed_or_deleted(admin_user):
    vm = f.voicemail(None, audio=False)
    event = audit.record(actor=audit.Actor.operator(admin_user), action=audit.READ_TRANSCRIPT,
                         voicemail=vm, detail={"via": "test"})
    assert (event.actor_kind, event.actor_user_id, event.voicemail_reference) == (
        "operator", admin_user.pk, vm.reference)
    event.action = "nothing.happened"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == audit.READ_TRANSCRIPT
    # The trail outlives the message it describes.
    vm_id = vm.pk
    vm.delete()
    assert list(AuditEvent.objects.filter(voicemail_id=vm_id)) == [
        AuditEvent.objects.get(pk=event.pk)]
