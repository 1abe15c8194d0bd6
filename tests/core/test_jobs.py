"""relais.core.jobs on PipelineStep rows (any model with the durable-job fields would do)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from relais.core import jobs
from relais.voicemail.models import PipelineStep, Voicemail

LEASE = 60


@pytest.fixture
def voicemail(db):
    return Voicemail.objects.create(caller_e164="+33612345678")


def row(voicemail, name="a", **fields):
    position = PipelineStep.objects.filter(voicemail=voicemail).count()
    return PipelineStep.objects.create(voicemail=voicemail, name=name, position=position,
                                       **fields)


def one(step):
    return PipelineStep.objects.filter(pk=step.pk)


def test_backoff_doubles_from_the_base_up_to_the_cap():
    assert [jobs.backoff(n, 30, 3600) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert jobs.backoff(10, 30, 45) == 45
    assert jobs.backoff(0, 30, 45) == 30  # never below the base
    assert jobs.backoff(3, 0, 45) == 0  # tests run without waiting


def test_a_claim_takes_the_row_once_under_a_lease(voicemail):
    step, now = row(voicemail), timezone.now()
    assert jobs.claim(one(step), LEASE, now=now, status="running")
    step.refresh_from_db()
    assert (step.status, step.attempts, step.lease_until) == (
        "running", 1, now + timedelta(seconds=LEASE))
    # A second worker, a duplicate task: nothing to take while the lease runs.
    assert not jobs.claim(one(step), LEASE, now=now)
    assert not jobs.claim(one(step), LEASE, now=now + timedelta(seconds=LEASE))
    # The lease ran out (the worker died): another worker takes it, counting the attempt.
    later = now + timedelta(seconds=LEASE + 1)
    assert jobs.claim(one(step), LEASE, now=later)
    step.refresh_from_db()
    assert (step.attempts, step.lease_until) == (2, later + timedelta(seconds=LEASE))


def test_a_claim_waits_for_the_next_attempt_and_for_the_owner_s_filter(voicemail):
    now = timezone.now()
    step = row(voicemail, next_attempt_at=now + timedelta(seconds=30))
    assert not jobs.claim(one(step), LEASE, now=now)
    assert not jobs.claim(one(step).filter(status="retry"), LEASE, now=now + timedelta(seconds=30))
    assert jobs.claim(one(step), LEASE, now=now + timedelta(seconds=30))  # due at that time
    assert PipelineStep.objects.get(pk=step.pk).attempts == 1


def test_release_schedules_the_next_attempt_and_finish_clears_it(voicemail):
    step, now = row(voicemail), timezone.now()
    jobs.claim(one(step), LEASE, now=now)
    assert jobs.release(one(step), 45, now=now, status="retry", error="boom") == 1
    step.refresh_from_db()
    assert (step.status, step.error, step.lease_until, step.next_attempt_at) == (
        "retry", "boom", None, now + timedelta(seconds=45))
    assert not jobs.claim(one(step), LEASE, now=now + timedelta(seconds=44))
    assert jobs.claim(one(step), LEASE, now=now + timedelta(seconds=45))
    jobs.release(one(step))  # handed back, due at once
    step.refresh_from_db()
    assert (step.lease_until, step.next_attempt_at) == (None, None)
    jobs.claim(one(step), LEASE, now=now)
    assert jobs.finish(one(step), status="done") == 1
    step.refresh_from_db()
    assert (step.status, step.attempts, step.lease_until, step.next_attempt_at) == (
        "done", 3, None, None)


def test_postpone_gives_the_attempt_back_and_sets_when_it_is_due(voicemail):
    step, now = row(voicemail), timezone.now()
    assert jobs.claim(one(step), LEASE, now=now)
    until = now + timedelta(minutes=5)
    assert jobs.postpone(one(step), until, status="waiting") == 1
    step.refresh_from_db()
    assert (step.status, step.attempts, step.lease_until, step.next_attempt_at) == (
        "waiting", 0, None, until)
    assert not jobs.claim(one(step), LEASE, now=until - timedelta(seconds=1))
    assert jobs.claim(one(step), LEASE, now=until)
    jobs.postpone(one(step), None)  # due at once
    jobs.postpone(one(step), None)  # never below zero
    step.refresh_from_db()
    assert (step.attempts, step.next_attempt_at) == (0, None)


def test_expired_lost_and_stalled_rows(voicemail):
    now = timezone.now()
    ago = timedelta(seconds=LEASE + 1)
    held = row(voicemail, "held", lease_until=now + timedelta(seconds=5), enqueued_at=now - ago)
    dead = row(voicemail, "dead", lease_until=now - timedelta(seconds=1), enqueued_at=now)
    never = row(voicemail, "never")  # never enqueued
    queued = row(voicemail, "queued", enqueued_at=now - timedelta(seconds=LEASE - 1))
    lost = row(voicemail, "lost", enqueued_at=now - ago)
    waiting = row(voicemail, "waiting", enqueued_at=now - ago,
                  next_attempt_at=now + timedelta(seconds=1))
    every = PipelineStep.objects.all()

    def names(queryset):
        return sorted(queryset.values_list("name", flat=True))

    assert names(jobs.expired(every, now)) == [dead.name]
    assert names(jobs.lost(every, LEASE, now)) == sorted([never.name, lost.name])
    assert names(jobs.stalled(every, LEASE, now)) == sorted([dead.name, never.name, lost.name])
    assert held.name not in names(jobs.stalled(every, LEASE, now))
    assert {queued.name, waiting.name}.isdisjoint(names(jobs.stalled(every, LEASE, now)))


class FakeTask:
    def __init__(self):
        self.sent = []

    def using(self, **options):
        task = self

        class Bound:
            def enqueue(self, *args):
                task.sent.append((options, args))

        return Bound()


def test_enqueue_records_the_time_and_sends_after_commit_on_a_whole_second(
        voicemail, django_capture_on_commit_callbacks):
    step, task = row(voicemail), FakeTask()
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        jobs.enqueue(one(step), task, "id", "a", queue="audio")
        jobs.enqueue(one(step), task, "id", "a", queue="audio", delay=1.5)
        assert task.sent == []  # not before the commit
    step.refresh_from_db()
    assert step.enqueued_at >= before
    (now_options, now_args), (later_options, later_args) = task.sent
    assert now_options == {"queue_name": "audio"} and now_args == later_args == ("id", "a")
    run_after = later_options["run_after"]
    assert run_after.microsecond == 0
    assert timedelta(seconds=1.5) <= run_after - step.enqueued_at < timedelta(seconds=2.5)
