"""The route step waits (state ``waiting``) for the caller's consent, through the real
pipeline worker: no attempt used, no error; woken at once when the consent becomes final
(a late key 1, the call's end, the stale-message job), or settled private when the wait
is over."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from relais.calls import services as calls_services
from relais.calls.models import Call
from relais.routing.models import Delivery, RoutingDecision
from relais.voicemail import callbacks, consent, pipeline
from relais.voicemail.models import PipelineStep, Voicemail
from tests import factories as f
from tests.factories import CALLER, NANTES, offset
from tests.helpers import drain, make_deferred_tasks_due, recipients

pytestmark = pytest.mark.django_db(transaction=True)

CALL_SID = "CA" + "c" * 32


@pytest.fixture
def called(db):
    """A called plumber in Nantes and two plumbers nearby."""
    listing = f.listing(*NANTES, ["plombier"], email="appele@example.fr")
    for km in (3, 8):
        f.listing(*offset(*NANTES, km), ["plombier"], radius=60, email=f"p{km}@example.fr")
    return listing


@pytest.fixture
def message(called):
    """A message whose caller may still be answering the consent question: the call is
    not over, the consent not final; every step before route is done."""
    call = Call.objects.create(call_sid=CALL_SID, to_e164="+33199000001", caller_e164=CALLER,
                               listing=called, professional=called.professional,
                               outcome=Call.Outcome.VOICEMAIL)
    vm = f.voicemail(called, consent="private", final=False)
    Voicemail.objects.filter(pk=vm.pk).update(call=call)
    vm.refresh_from_db()
    return vm


def route_step(vm) -> PipelineStep:
    return PipelineStep.objects.get(voicemail=vm, name="route")


def started_and_waiting(vm, caplog):
    pipeline.start(vm)
    with caplog.at_level(logging.INFO):
        drain()
        drain()  # nothing due: it is not run again
    step = route_step(vm)
    assert (step.status, step.attempts, step.error) == ("waiting", 0, "")
    assert step.detail == "consentement de l'appelant pas encore définitif"
    assert step.next_attempt_at == consent.deadline(vm)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    vm.refresh_from_db()
    assert (vm.status, vm.consent_recorded_at) == (Voicemail.Status.PROCESSING, None)
    assert not RoutingDecision.objects.filter(voicemail=vm).exists()
    return step


def test_a_late_key_1_wakes_the_route_step_at_once_and_the_request_is_shared(
        routing_steps, smtp, message, caplog):
    started_and_waiting(message, caplog)
    # The caller presses 1 after everything before route was done: the gather action.
    callbacks.consent_given(CALL_SID, "1")
    step = route_step(message)
    assert (step.status, step.next_attempt_at, step.detail) == ("pending", None, "")
    drain()
    step = route_step(message)
    assert (step.status, step.attempts, step.error) == ("done", 1, "")
    message.refresh_from_db()
    assert (message.status, message.consent) == (Voicemail.Status.DONE, "share")
    assert RoutingDecision.objects.get(voicemail=message).outcome == "shared"
    assert recipients(smtp.mailbox) == ["appele@example.fr", "p3@example.fr", "p8@example.fr"]


def test_the_end_of_the_call_wakes_it_private(routing_steps, smtp, message, caplog):
    started_and_waiting(message, caplog)
    calls_services.call_ended(CALL_SID, "completed")  # hung up before answering
    drain()
    message.refresh_from_db()
    assert (message.status, message.consent) == (Voicemail.Status.DONE, "private")
    decision = RoutingDecision.objects.get(voicemail=message)
    assert (decision.outcome, [r["code"] for r in decision.reasons]) == (
        "own_only", ["consent_private"])
    assert recipients(smtp.mailbox) == ["appele@example.fr"]


def test_when_the_wait_is_over_the_consent_is_private_and_only_the_called_receives(
        routing_steps, smtp, message, caplog, settings):
    started_and_waiting(message, caplog)
    # RELAIS_CONSENT_WAIT_SECONDS pass without an answer (lost callbacks): the step's
    # task, enqueued for that time, runs it.
    past = timezone.now() - timedelta(seconds=settings.RELAIS_CONSENT_WAIT_SECONDS + 1)
    Voicemail.objects.filter(pk=message.pk).update(created_at=past)
    PipelineStep.objects.filter(voicemail=message, name="route").update(
        next_attempt_at=timezone.now() - timedelta(seconds=1))
    make_deferred_tasks_due()
    drain()
    step = route_step(message)
    assert (step.status, step.attempts, step.error) == ("done", 1, "")
    message.refresh_from_db()
    assert (message.status, message.consent) == (Voicemail.Status.DONE, "private")
    assert message.consent_recorded_at is not None
    decision = RoutingDecision.objects.get(voicemail=message)
    assert (decision.outcome, [r["code"] for r in decision.reasons]) == (
        "own_only", ["consent_private"])
    assert list(Delivery.objects.filter(voicemail=message).values_list("kind", flat=True)) == [
        "own"]
    assert recipients(smtp.mailbox) == ["appele@example.fr"]


def test_the_stale_message_job_settling_the_consent_wakes_it(routing_steps, smtp, message,
                                                             caplog):
    started_and_waiting(message, caplog)
    Voicemail.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - callbacks.RECORDING_GRACE - timedelta(seconds=1))
    callbacks.settle_stale()
    assert route_step(message).status == "pending"
    drain()
    message.refresh_from_db()
    assert (message.status, message.consent) == (Voicemail.Status.DONE, "private")
    assert recipients(smtp.mailbox) == ["appele@example.fr"]


def test_a_consent_already_final_routes_without_waiting(routing_steps, smtp, message):
    callbacks.consent_given(CALL_SID, "1")  # before the pipeline: nothing to wake
    pipeline.start(message)
    drain()
    assert (route_step(message).status, route_step(message).attempts) == ("done", 1)
    assert RoutingDecision.objects.get(voicemail=message).outcome == "shared"
