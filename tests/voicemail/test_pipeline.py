import logging
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from relais.voicemail import pipeline
from relais.voicemail.models import PipelineStep, Voicemail
from relais.voicemail.pipeline import Step
from tests.helpers import (
    drain,
    kill_when,
    make_deferred_tasks_due,
    relais,
    relais_env,
    start_relais,
)
from tests.voicemail import steps as test_steps
from tests.voicemail.steps import (
    WAIT,
    append_transcript,
    broken,
    flaky,
    missed_by_a_hair,
    ok,
    reject,
    wait_for_transcript,
)


def use_steps(settings, *steps):
    settings.RELAIS_PIPELINE = list(steps)


@pytest.fixture(autouse=True)
def _clear_calls():
    test_steps.CALLS.clear()


@pytest.fixture
def voicemail(db):
    return Voicemail.objects.create(caller_e164="+33612345678", status=Voicemail.Status.RECEIVED)


def step_states(vm):
    return {s.name: (s.status, s.attempts) for s in PipelineStep.objects.filter(voicemail=vm)}


@pytest.mark.django_db(transaction=True)
def test_steps_run_in_order_with_status_and_timing(settings, voicemail):
    use_steps(settings, Step(ok, "audio", name="a"),
              Step(append_transcript, "transcription", name="b"),
              Step(ok, "notifications", name="c"))
    pipeline.start(voicemail)
    drain()
    voicemail.refresh_from_db()
    assert voicemail.status == Voicemail.Status.DONE
    assert voicemail.transcript == "bonjour"
    steps = list(PipelineStep.objects.filter(voicemail=voicemail))
    assert [s.name for s in steps] == ["a", "b", "c"]
    assert all(s.status == "done" and s.attempts == 1 for s in steps)
    assert all(s.duration_ms is not None and s.finished_at >= s.started_at for s in steps)


@pytest.mark.django_db(transaction=True)
def test_transient_failures_are_retried_with_backoff(settings, voicemail):
    settings.RELAIS_RETRY_BASE_SECONDS = 0
    use_steps(settings, Step(flaky, "audio", name="fetch"), Step(ok, "default", name="b"))
    pipeline.start(voicemail)
    drain()
    assert step_states(voicemail) == {"fetch": ("done", 3), "b": ("done", 1)}
    voicemail.refresh_from_db()
    assert voicemail.status == Voicemail.Status.DONE


@pytest.mark.django_db(transaction=True)
def test_backoff_delays_the_next_attempt(settings, voicemail):
    settings.RELAIS_RETRY_BASE_SECONDS = 30
    use_steps(settings, Step(flaky, "audio", name="fetch"))
    pipeline.start(voicemail)
    drain()  # first attempt fails; the retry is not due for 30 s
    step = PipelineStep.objects.get(voicemail=voicemail)
    assert (step.status, step.attempts) == ("retry", 1)
    assert "ConnectionError: provider unavailable" in step.error
    assert 25 < (step.next_attempt_at - step.finished_at).total_seconds() <= 31
    drain()  # nothing is due: still one attempt
    step.refresh_from_db()
    assert step.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_a_step_that_keeps_failing_leaves_a_visible_failed_state(settings, voicemail):
    settings.RELAIS_RETRY_BASE_SECONDS = 0
    settings.RELAIS_STEP_MAX_ATTEMPTS = 3
    use_steps(settings, Step(broken, "audio", name="normalise"), Step(ok, "default", name="b"))
    pipeline.start(voicemail)
    drain()
    assert step_states(voicemail) == {"normalise": ("failed", 3), "b": ("pending", 0)}
    voicemail.refresh_from_db()
    assert voicemail.status == Voicemail.Status.FAILED
    assert "normalise: ValueError: cannot decode" in voicemail.status_detail
    # The operator fixes the cause and retries.
    use_steps(settings, Step(ok, "audio", name="normalise"), Step(ok, "default", name="b"))
    assert pipeline.retry_failed(voicemail) == 1
    drain()
    voicemail.refresh_from_db()
    assert voicemail.status == Voicemail.Status.DONE
    assert step_states(voicemail) == {"normalise": ("done", 1), "b": ("done", 1)}


@pytest.mark.django_db(transaction=True)
def test_a_step_may_allow_more_attempts_and_backoff_is_capped(settings, voicemail):
    settings.RELAIS_RETRY_BASE_SECONDS = 30
    settings.RELAIS_RETRY_MAX_SECONDS = 45
    settings.RELAIS_STEP_MAX_ATTEMPTS = 1
    use_steps(settings, Step(broken, "audio", max_attempts=4, name="fetch"))
    pipeline.start(voicemail)
    step = PipelineStep.objects.get(voicemail=voicemail)
    def time_passes():
        PipelineStep.objects.filter(pk=step.pk).update(next_attempt_at=None)
        make_deferred_tasks_due()

    for attempt, delay in ((1, 30), (2, 45), (3, 45)):
        if attempt > 1:
            time_passes()
        drain()
        step.refresh_from_db()
        assert (step.status, step.attempts) == ("retry", attempt)
        assert abs((step.next_attempt_at - step.finished_at).total_seconds() - delay) < 1
    time_passes()
    drain()
    step.refresh_from_db()
    assert (step.status, step.attempts) == ("failed", 4)


@pytest.mark.django_db(transaction=True)
def test_stop_ends_the_pipeline_with_an_explicit_status(settings, voicemail):
    use_steps(settings, Step(reject, "audio", name="normalise"), Step(ok, "default", name="b"))
    pipeline.start(voicemail)
    drain()
    voicemail.refresh_from_db()
    assert voicemail.status == "rejected"
    assert voicemail.status_detail == "not a voice message: silence only"
    assert step_states(voicemail) == {"normalise": ("done", 1), "b": ("skipped", 0)}
    assert test_steps.CALLS == []


@pytest.mark.django_db(transaction=True)
def test_a_step_waits_without_using_attempts_or_storing_an_error(settings, voicemail, caplog):
    settings.RELAIS_STEP_MAX_ATTEMPTS = 1
    use_steps(settings, Step(ok, "audio", name="a"), Step(wait_for_transcript, name="b"),
              Step(ok, "default", name="c"))
    pipeline.start(voicemail)
    with caplog.at_level(logging.INFO, logger="relais.voicemail.pipeline"):
        drain()
        drain()  # nothing is due: the step is not run again
    assert step_states(voicemail) == {"a": ("done", 1), "b": ("waiting", 0), "c": ("pending", 0)}
    step = PipelineStep.objects.get(voicemail=voicemail, name="b")
    assert (step.error, step.detail) == ("", "pas encore de transcription")
    assert step.next_attempt_at == voicemail.created_at + WAIT and step.lease_until is None
    assert step.get_status_display() == "en attente d'un événement"
    assert test_steps.CALLS.count(("wait", str(voicemail.pk))) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "waits until" in caplog.text
    voicemail.refresh_from_db()
    assert (voicemail.status, voicemail.status_detail) == (Voicemail.Status.PROCESSING, "")
    # What it waits for happens: woken, it runs at once (on commit), with its one attempt.
    with transaction.atomic():
        Voicemail.objects.filter(pk=voicemail.pk).update(transcript="bonjour")
        assert pipeline.wake(voicemail.pk) == 1
    drain()
    assert step_states(voicemail) == {"a": ("done", 1), "b": ("done", 1), "c": ("done", 1)}
    step.refresh_from_db()
    assert (step.error, step.detail, step.next_attempt_at) == ("", "", None)
    voicemail.refresh_from_db()
    assert voicemail.status == Voicemail.Status.DONE


@pytest.mark.django_db(transaction=True)
def test_a_wake_for_nothing_lets_the_step_wait_again(settings, voicemail):
    use_steps(settings, Step(wait_for_transcript, name="b"))
    pipeline.start(voicemail)
    drain()
    assert pipeline.wake(voicemail.pk) == 1
    drain()
    assert step_states(voicemail) == {"b": ("waiting", 0)}
    assert test_steps.CALLS.count(("wait", str(voicemail.pk))) == 2
    assert pipeline.wake(voicemail.pk) == 1  # woken again: still no attempt counted
    drain()
    assert step_states(voicemail) == {"b": ("waiting", 0)}


@pytest.mark.django_db(transaction=True)
def test_a_wake_while_the_step_runs_is_not_lost(settings, voicemail):
    """The event happens after the step looked but before it said it waits: the step
    does not wait (an hour) for what already happened; it runs again at once."""
    use_steps(settings, Step(missed_by_a_hair, name="b"))
    pipeline.start(voicemail)
    drain()
    assert test_steps.CALLS.count(("hair", str(voicemail.pk))) == 2
    assert step_states(voicemail) == {"b": ("done", 1)}
    voicemail.refresh_from_db()
    assert voicemail.status == Voicemail.Status.DONE


@pytest.mark.django_db(transaction=True)
def test_a_waiting_step_runs_when_its_time_is_up(settings, voicemail):
    use_steps(settings, Step(wait_for_transcript, name="b"))
    pipeline.start(voicemail)
    drain()
    # Time passes (the task was enqueued to run at the step's time) and the event came
    # without a wake: the step runs at its time.
    Voicemail.objects.filter(pk=voicemail.pk).update(transcript="bonjour")
    PipelineStep.objects.filter(voicemail=voicemail).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1))
    make_deferred_tasks_due()
    drain()
    assert step_states(voicemail) == {"b": ("done", 1)}


@pytest.mark.django_db(transaction=True)
def test_recovery_enqueues_a_waiting_step_whose_time_is_up_and_task_was_lost(settings,
                                                                            voicemail):
    use_steps(settings, Step(wait_for_transcript, name="b"))
    pipeline.start(voicemail)
    drain()
    assert step_states(voicemail) == {"b": ("waiting", 0)}
    assert pipeline.recover_stalled() == 0  # not due yet
    # Its time is up, its task (enqueued to run then) lost long ago; the transcript came.
    Voicemail.objects.filter(pk=voicemail.pk).update(transcript="bonjour")
    now = timezone.now()
    PipelineStep.objects.filter(voicemail=voicemail).update(
        next_attempt_at=now - timedelta(seconds=1),
        enqueued_at=now - timedelta(seconds=settings.RELAIS_STEP_LEASE_SECONDS + 60))
    assert pipeline.recover_stalled() == 1
    drain()  # the task in the queue for the step's time is not due: the recovered one runs
    assert step_states(voicemail) == {"b": ("done", 1)}
    voicemail.refresh_from_db()
    assert voicemail.status == Voicemail.Status.DONE


@pytest.mark.django_db(transaction=True)
def test_duplicate_tasks_and_restarts_do_not_run_a_step_twice(settings, voicemail):
    use_steps(settings, Step(ok, "default", name="a"))
    pipeline.start(voicemail)
    pipeline.start(voicemail)  # a duplicate webhook starts it again
    pipeline.run_step.enqueue(str(voicemail.pk), "a")
    drain()
    assert test_steps.CALLS == [("ok", str(voicemail.pk))]
    assert PipelineStep.objects.filter(voicemail=voicemail).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_step_leaves_the_voicemail_to_be_picked_up(tmp_path, voicemail):
    marker = tmp_path / "marker"
    env = relais_env(
        RELAIS_TEST_PIPELINE="tests.voicemail.steps.SLOW_THEN_OK",
        RELAIS_TEST_MARKER=str(marker),
        RELAIS_STEP_LEASE_SECONDS="2",
    )
    enqueue = relais("shell", "-c", (
        "from relais.voicemail.models import Voicemail; from relais.voicemail import pipeline; "
        f"pipeline.start(Voicemail.objects.get(pk='{voicemail.pk}'))"
    ), env=env)
    assert enqueue.returncode == 0, enqueue.stdout + enqueue.stderr
    worker = start_relais("worker", "--no-startup-delay", "--interval", "0.2", env=env)
    kill_when(worker, marker.exists, 60, "the worker never started the step")
    step = PipelineStep.objects.get(voicemail=voicemail, name="slow")
    assert (step.status, step.attempts) == ("running", 1)
    time.sleep(2.5)  # the lease runs out
    result = relais("worker", "--batch", "--no-startup-delay", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    voicemail.refresh_from_db()
    assert voicemail.status == Voicemail.Status.DONE
    assert step_states(voicemail) == {"slow": ("done", 2), "after": ("done", 1)}
