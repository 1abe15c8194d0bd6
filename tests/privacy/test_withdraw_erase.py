"""Withdrawing sharing and erasing everything, from the portal and as functions."""


import pytest
from django.urls import reverse

from relais.calls.models import Call
from relais.core import audit
from relais.core.models import AuditEvent
from relais.credits import services as credits
from relais.credits.models import CreditEntry, Unlock
from relais.privacy import services
from relais.privacy.models import Erasure, PendingFileDeletion
from relais.routing import links
from relais.routing import services as routing
from relais.routing.models import Delivery, Feedback
from relais.voicemail.models import Voicemail
from tests import factories as f
from tests.factories import CALLER, CALLER_FR
from tests.helpers import Stored, drain, last_code, stored_files

# Unlocking shows the number only where the operator enables it (RELAIS_REVEAL_NUMBERS).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reveal_numbers")]

MESSAGE = reverse("privacy:message")


def verified(client, vm):
    client.post(reverse("privacy:start"), {"reference": vm.reference, "number": CALLER_FR})
    client.post(reverse("privacy:code"), {"code": last_code(CALLER)})
    assert client.get(MESSAGE).status_code == 200
    return client


def unlocked(delivery):
    """The shared recipient pays to see the caller's number (not displayed yet)."""
    pro = delivery.listing.professional
    credits.grant(pro, 5, by=None)
    return credits.unlock(delivery, pro.user)


def balance(delivery):
    return credits.balance(delivery.listing.professional)


def test_withdrawing_revokes_shared_links_cancels_emails_and_refunds_unshown_unlocks(
        client, shared_message):
    vm, own, (near, far) = shared_message
    Delivery.objects.filter(pk=near.pk).update(status="sent")  # emailed; far: still pending
    unlock_near = unlocked(near)
    before = balance(near)
    verified(client, vm)
    response = client.post(reverse("privacy:withdraw"), follow=True)
    html = response.content.decode()
    assert "Partage retiré" in html and "2 destinataires retirés" in html
    statuses = dict(Delivery.objects.filter(voicemail=vm).values_list("pk", "status"))
    assert statuses == {own.pk: "pending", near.pk: "revoked", far.pk: "cancelled"}
    # Their links stop working at once; the called professional's still works.
    assert client.get(links.path(near)).status_code == 410
    assert client.get(links.path(far)).status_code == 410
    assert client.get(links.path(own)).status_code == 200
    unlock_near.refresh_from_db()
    assert unlock_near.refunded_at is not None and balance(near) == before + unlock_near.cost
    vm.refresh_from_db()
    assert vm.consent == Voicemail.Consent.PRIVATE
    assert AuditEvent.objects.filter(voicemail_id=vm.pk, action="sharing.withdrawn").count() == 1
    # The portal shows who unlocked and that it was refunded.
    assert "annulé (remboursé)" in html and "Plomberie Voisine" in html
    # Again: nothing changes, and the caller is told.
    again = client.post(reverse("privacy:withdraw"), follow=True).content.decode()
    assert "déjà retiré" in again
    assert CreditEntry.objects.filter(kind="refund").count() == 1
    assert AuditEvent.objects.filter(voicemail_id=vm.pk, action="sharing.withdrawn").count() == 1


def test_an_unlock_whose_number_was_shown_is_not_refunded(shared_message):
    vm, _, (near, _) = shared_message
    item = unlocked(near)
    credits.reveal(item, audit.Actor.link(near.listing))
    before = balance(near)
    result = services.withdraw_sharing(vm)
    assert (result.revoked, result.refunded) == (2, 0)
    assert balance(near) == before
    assert Unlock.objects.get(pk=item.pk).refunded_at is None


def test_erasing_deletes_files_empties_fields_revokes_everything_and_keeps_a_tombstone(
        client, shared_message, django_capture_on_commit_callbacks):
    vm, own, (near, far) = shared_message
    call = Call.objects.create(call_sid="CA" + "1" * 32, caller_e164=CALLER, to_e164="+33100000000")
    Voicemail.objects.filter(pk=vm.pk).update(call=call, duration_seconds=42.0)
    vm.refresh_from_db()
    unlock_near = unlocked(near)
    routing.record_feedback(near, "not_a_request", "Mme Bensaïd cherche un copain")
    files = [vm.audio.name, vm.extract.name]
    paths = [Stored(n) for n in files]
    assert all(p.exists() for p in paths)
    verified(client, vm)
    bad = client.post(reverse("privacy:erase"), follow=True)  # no confirmation box
    assert "Cochez la case" in bad.content.decode() and all(p.exists() for p in paths)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("privacy:erase"), {"confirm": "on"}, follow=True)
    html = response.content.decode()
    assert "Votre message a été effacé" in html and "Message effacé" in html
    assert "Nadia" not in html and "<audio" not in html
    assert not any(p.exists() for p in paths)  # really gone from storage
    assert not PendingFileDeletion.objects.exists()
    vm.refresh_from_db()
    assert vm.status == Voicemail.Status.ERASED
    assert (vm.caller_e164, vm.transcript, vm.redacted_text, vm.words, vm.speech, vm.reasons,
            vm.audio.name, vm.extract.name, vm.duration_seconds) == (
        "", "", "", [], {}, [], "", "", None)
    call.refresh_from_db()
    assert call.caller_e164 == ""
    assert set(Delivery.objects.filter(voicemail=vm).values_list("status", flat=True)) <= {
        "revoked", "cancelled"}
    assert all(d.reason == {} and d.distance_km is None
               for d in Delivery.objects.filter(voicemail=vm))
    assert Feedback.objects.get(delivery=near).comment == ""  # kept as a label only
    for d in (own, near, far):
        assert client.get(links.path(d)).status_code == 410
    assert client.get(reverse("privacy:audio")).status_code == 404
    unlock_near.refresh_from_db()
    assert unlock_near.refunded_at is not None
    tomb = Erasure.objects.get(voicemail_id=vm.pk)
    assert (tomb.recipients, tomb.shared_recipients, tomb.unlocks, tomb.metier,
            tomb.duration_bucket, tomb.requested_by) == (3, 2, 1, "plombier", "30–60 s",
                                                         "caller")
    assert AuditEvent.objects.filter(voicemail_id=vm.pk, action="voicemail.erased").count() == 1
    # Erasing twice, or withdrawing afterwards: a clear message, nothing changes.
    twice = client.post(reverse("privacy:erase"), {"confirm": "on"}, follow=True)
    assert "déjà été effacé" in twice.content.decode()
    after = client.post(reverse("privacy:withdraw"), follow=True)
    assert "a été effacé" in after.content.decode()
    assert Erasure.objects.count() == 1
    assert AuditEvent.objects.filter(voicemail_id=vm.pk, action="voicemail.erased").count() == 1
    # The caller can no longer ask for a code with that reference: their number is gone.
    services.request_code(vm.reference, CALLER_FR)
    assert services.PortalChallenge.objects.order_by("-created_at").first().voicemail_id is None


def test_a_rerun_finishes_an_erasure_interrupted_after_its_commit(shared_message,
                                                                   django_capture_on_commit_callbacks):
    vm, _, _ = shared_message
    paths = [Stored(n) for n in (vm.audio.name, vm.extract.name)]
    # The process dies after the commit, before the files are deleted: the on-commit
    # callbacks are captured and never run.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.erase(vm)
    assert callbacks and all(p.exists() for p in paths)
    assert PendingFileDeletion.objects.filter(voicemail_id=vm.pk).count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        result = services.erase(vm)
    assert result.already
    assert not any(p.exists() for p in paths)
    assert not PendingFileDeletion.objects.exists()


def test_an_erasure_that_fails_midway_changes_nothing(shared_message, monkeypatch,
                                                     django_capture_on_commit_callbacks):
    vm, own, _ = shared_message
    paths = [Stored(n) for n in (vm.audio.name, vm.extract.name)]

    def fail(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(services.Call.objects, "filter", fail)
    Voicemail.objects.filter(pk=vm.pk).update(call=Call.objects.create(
        call_sid="CA" + "2" * 32, caller_e164=CALLER, to_e164="+33100000000"))
    with pytest.raises(RuntimeError):
        services.erase(vm)
    vm.refresh_from_db()
    assert vm.status != Voicemail.Status.ERASED and vm.transcript and vm.caller_e164
    assert all(p.exists() for p in paths)
    assert Delivery.objects.get(pk=own.pk).status == "pending"
    assert not Erasure.objects.exists() and not PendingFileDeletion.objects.exists()
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        assert not services.erase(vm).already
    assert not any(p.exists() for p in paths)


@pytest.mark.django_db(transaction=True)
def test_the_pipeline_never_writes_back_into_an_erased_message(settings):
    from relais.voicemail import pipeline, steps
    from relais.voicemail.models import PipelineStep
    settings.RELAIS_PIPELINE = [
        pipeline.Step(steps.normalise, "audio"),
        pipeline.Step(steps.transcribe, "transcription"),
    ]
    vm = f.voicemail(None)
    running = Voicemail.objects.get(pk=vm.pk)  # loaded by a step before the erasure
    pipeline.start(vm)
    services.erase(vm)
    drain()
    vm.refresh_from_db()
    assert vm.status == Voicemail.Status.ERASED
    assert set(PipelineStep.objects.filter(voicemail=vm).values_list("status", flat=True)) \
        == {"skipped"}
    # Steps already running when the erasure committed write nothing back.
    steps.understand(running)  # would store its reasons
    steps.redact(running)  # would store the redacted transcript
    vm.refresh_from_db()
    assert (vm.transcript, vm.redacted_text, vm.reasons, vm.extract.name) == ("", "", [], "")
    assert stored_files(f"recordings/{vm.pk.hex}") == []


@pytest.mark.parametrize("action", ["withdraw", "erase"])
def test_a_message_waiting_for_moderation_leaves_the_queue(shared_message, action):
    from relais.routing.models import ModerationItem, RoutingDecision

    vm, _, _ = shared_message
    RoutingDecision.objects.filter(voicemail=vm).update(moderation="pending")
    assert ModerationItem.objects.filter(moderation="pending").count() == 1
    if action == "withdraw":
        services.withdraw_sharing(vm)
    else:
        services.erase(vm)
    decision = RoutingDecision.objects.get(voicemail=vm)
    assert (decision.moderation, decision.outcome) == ("rejected", "own_only")
    assert decision.reasons[-1]["code"] == ("consent_withdrawn" if action == "withdraw"
                                            else "erased")
    assert not ModerationItem.objects.filter(moderation="pending").exists()
