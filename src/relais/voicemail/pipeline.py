"""The voicemail processing pipeline: explicit steps with state, retries and recovery.

Each voicemail goes through the steps the project lists (:class:`Step` entries in
``relais.flow.PIPELINE``, named by ``settings.RELAIS_PIPELINE``), one task per step run.
A step is a plain function ``step(voicemail) -> None`` that must be idempotent (running
it twice gives the same result). The pipeline stores each step's status, attempts,
timing and last error in a PipelineStep row, a durable job (:mod:`relais.core.jobs`):

- a step that raises is retried with exponential backoff (``RELAIS_RETRY_BASE_SECONDS``
  × 2^(attempt-1), at most ``RELAIS_RETRY_MAX_SECONDS``), up to its number of attempts
  (``RELAIS_STEP_MAX_ATTEMPTS`` unless the step says otherwise); then it is ``failed``, the
  voicemail is ``failed`` with the error, and an operator can retry it from the admin;
- a step raising :class:`Stop` ends the pipeline on purpose (e.g. the audio is not a
  voice message) with an explicit status on the voicemail;
- a step raising :class:`Wait` cannot run yet (e.g. the caller may still be answering
  the consent question): it is ``waiting`` — not a failure: no attempt counted, no
  error, the reason kept in ``detail`` — until the time it gives, when its task (enqueued
  for then) runs it again, or until :func:`wake` (what it waits for happened) makes it
  due at once; the voicemail stays ``processing``;
- a step runs under a lease (``RELAIS_STEP_LEASE_SECONDS``): if the worker dies
  mid-step, :func:`recover_stalled` (run by every worker at start and every minute)
  hands the step to another worker.

Tasks only carry (voicemail id, step name): the state lives in PipelineStep rows, so a
lost or duplicated task is harmless: whoever claims the step runs it, others return.
"""

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from relais.core import jobs
from relais.core.tasks import task

from .models import PipelineStep, Voicemail

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    """One step of the pipeline: ``function(voicemail) -> None``, run on ``queue``."""

    function: Callable[[Voicemail], None]
    queue: str = "default"
    max_attempts: int | None = None  # default: RELAIS_STEP_MAX_ATTEMPTS
    name: str = ""  # stored in PipelineStep rows; default: the function's name

    def __post_init__(self):
        if not self.name:
            object.__setattr__(self, "name", self.function.__name__)

    @property
    def attempts_allowed(self) -> int:
        return self.max_attempts or settings.RELAIS_STEP_MAX_ATTEMPTS


Status = PipelineStep.Status
FINISHED = (Status.DONE, Status.SKIPPED)
# Due (core.jobs.due) and unleased: pending, retry and waiting steps have no lease, a
# running step's lease has run out (its worker died).
CLAIMABLE = (Status.PENDING, Status.RETRY, Status.WAITING, Status.RUNNING)


class Stop(Exception):
    """Raised by a step to end the pipeline on purpose, with a status for the voicemail."""

    def __init__(self, status: str, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


class Wait(Exception):
    """Raised by a step that cannot run yet: the step waits until ``until`` (or until
    :func:`wake`), its attempt not counted; ``reason`` is shown in the admin."""

    def __init__(self, until: datetime, reason: str = ""):
        super().__init__(reason)
        self.until = until
        self.reason = reason


def steps() -> tuple[Step, ...]:
    """The steps, in order. ``settings.RELAIS_PIPELINE`` names the list (a dotted path,
    ``relais.flow.PIPELINE``: the project lists the steps, some of them from higher apps)
    or, in tests, is the list itself."""
    configured = getattr(settings, "RELAIS_PIPELINE", ())
    if isinstance(configured, str):
        return _named(configured)
    return _checked(configured)


@functools.cache
def _named(path: str) -> tuple[Step, ...]:
    return _checked(import_string(path))


def _checked(listed) -> tuple[Step, ...]:
    listed = tuple(listed)
    names = [step.name for step in listed]
    if len(set(names)) != len(names):
        raise ImproperlyConfigured(f"RELAIS_PIPELINE: two steps share a name: {names}")
    return listed


def _spec(name: str) -> Step:
    for spec in steps():
        if spec.name == name:
            return spec
    raise KeyError(name)


def start(voicemail: Voicemail) -> None:
    """Create the voicemail's steps (once) and enqueue the first one that is due."""
    with transaction.atomic():
        for position, spec in enumerate(steps()):
            PipelineStep.objects.get_or_create(
                voicemail=voicemail, name=spec.name, defaults={"position": position}
            )
        Voicemail.objects.filter(pk=voicemail.pk).exclude(
            status__in=[Voicemail.Status.ERASED, Voicemail.Status.DONE]
        ).update(status=Voicemail.Status.PROCESSING, status_detail="")
        _enqueue_next(voicemail.pk)


def _enqueue(voicemail_id, name: str, delay: float = 0.0) -> None:
    jobs.enqueue(PipelineStep.objects.filter(voicemail_id=voicemail_id, name=name),
                 run_step, str(voicemail_id), name, queue=_spec(name).queue, delay=delay)


def _enqueue_next(voicemail_id) -> str | None:
    """Enqueue the first unfinished step; mark the voicemail done when none is left."""
    pending = (
        PipelineStep.objects.filter(voicemail_id=voicemail_id)
        .exclude(status__in=FINISHED)
        .order_by("position")
        .first()
    )
    if pending is None:
        Voicemail.objects.filter(pk=voicemail_id, status=Voicemail.Status.PROCESSING).update(
            status=Voicemail.Status.DONE
        )
        return None
    if pending.status in (Status.PENDING, Status.RETRY):
        _enqueue(voicemail_id, pending.name)
    return pending.name


def _claim(voicemail_id, name: str) -> PipelineStep | None:
    """Take the step for this worker if it is due and its predecessors are finished."""
    now = timezone.now()
    step = PipelineStep.objects.filter(voicemail_id=voicemail_id, name=name).first()
    if step is None:
        return None
    unfinished_before = (
        PipelineStep.objects.filter(voicemail_id=voicemail_id, position__lt=step.position)
        .exclude(status__in=FINISHED)
        .exists()
    )
    if unfinished_before:
        return None
    taken = jobs.claim(
        PipelineStep.objects.filter(pk=step.pk, status__in=CLAIMABLE),
        settings.RELAIS_STEP_LEASE_SECONDS, now=now,
        status=Status.RUNNING, started_at=now, finished_at=None,
    )
    if not taken:
        return None
    step.refresh_from_db()
    return step


@task(queue_name="default")
def run_step(voicemail_id: str, name: str) -> str:
    """Run one step of one voicemail (the unit of work of the task queue)."""
    step = _claim(voicemail_id, name)
    if step is None:
        return "skipped"
    spec = _spec(name)
    voicemail = Voicemail.objects.get(pk=voicemail_id)
    began = time.monotonic()
    if voicemail.status == Voicemail.Status.ERASED:  # erased by the caller meanwhile
        _finish(step, began, Status.SKIPPED, error="message effacé")
        PipelineStep.objects.filter(voicemail_id=voicemail_id, position__gt=step.position
                                    ).exclude(status__in=FINISHED).update(status=Status.SKIPPED)
        return "erased"
    try:
        spec.function(voicemail)
    except Wait as wait:
        return _wait(step, began, wait)
    except Stop as stop:
        _finish(step, began, Status.DONE, error=stop.detail)
        with transaction.atomic():
            PipelineStep.objects.filter(
                voicemail_id=voicemail_id, position__gt=step.position
            ).exclude(status__in=FINISHED).update(status=Status.SKIPPED)
            Voicemail.objects.filter(pk=voicemail_id).exclude(
                status=Voicemail.Status.ERASED).update(
                status=stop.status, status_detail=stop.detail[:500]
            )
        logger.info("voicemail %s stopped at %s: %s", voicemail_id, name, stop.detail)
        return "stopped"
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if step.attempts >= spec.attempts_allowed:
            _finish(step, began, Status.FAILED, error=error)
            Voicemail.objects.filter(pk=voicemail_id).exclude(
                status=Voicemail.Status.ERASED).update(
                status=Voicemail.Status.FAILED, status_detail=f"{name}: {error}"[:500]
            )
            logger.exception("voicemail %s: step %s failed for good", voicemail_id, name)
            return "failed"
        delay = jobs.backoff(step.attempts, settings.RELAIS_RETRY_BASE_SECONDS,
                             settings.RELAIS_RETRY_MAX_SECONDS)
        with transaction.atomic():
            _finish(step, began, Status.RETRY, error=error, retry_in=delay)
            _enqueue(voicemail_id, name, delay)
        logger.warning("voicemail %s: step %s attempt %s failed (%s), retry in %.0fs",
                       voicemail_id, name, step.attempts, error, delay)
        return "retry"
    with transaction.atomic():
        _finish(step, began, Status.DONE)
        _enqueue_next(voicemail_id)
    return "done"


def _finish(step: PipelineStep, began: float, status: str, *, error: str = "",
            retry_in: float | None = None) -> None:
    row, now = PipelineStep.objects.filter(pk=step.pk), timezone.now()
    changes = {"status": status, "finished_at": now, "error": error, "detail": "",
               "duration_ms": int((time.monotonic() - began) * 1000)}
    if retry_in is None:
        jobs.finish(row, **changes)
    else:  # a retry, due in retry_in seconds
        jobs.release(row, retry_in, now=now, **changes)


def _wait(step: PipelineStep, began: float, wait: Wait) -> str:
    """The step cannot run yet: ``waiting`` until ``wait.until``, the attempt given back.

    If :func:`wake` came while the step ran (it moved ``next_attempt_at`` since the
    claim), what the step waits for may have happened after the step looked: it is due
    again at once instead.
    """
    now = timezone.now()
    until = max(wait.until, now + timedelta(seconds=1))  # never a busy loop
    row = PipelineStep.objects.filter(pk=step.pk)
    unwoken = (row.filter(next_attempt_at=step.next_attempt_at) if step.next_attempt_at
               else row.filter(next_attempt_at__isnull=True))
    ran = {"finished_at": now, "error": "",
           "duration_ms": int((time.monotonic() - began) * 1000)}
    with transaction.atomic():
        if jobs.postpone(unwoken, until, status=Status.WAITING, detail=wait.reason[:200],
                         **ran):
            _enqueue(step.voicemail_id, step.name, (until - now).total_seconds())
            logger.info("voicemail %s: step %s waits until %s (%s)", step.voicemail_id,
                        step.name, until.isoformat(timespec="seconds"), wait.reason)
            return "waiting"
        jobs.postpone(row, None, status=Status.PENDING, detail="", **ran)
        _enqueue(step.voicemail_id, step.name)
    return "woken"


def wake(voicemail_id) -> int:
    """What the voicemail's waiting step waits for may have happened: make it due at once
    and enqueue it (on commit). Call it in the transaction that made the event happen.

    A step running at this moment, which may be about to wait for the event it has just
    missed, gets ``next_attempt_at`` = now ("due again from now"): the :class:`Wait` it
    raises then ends at once. A wake is only a hint: a step woken for nothing runs, finds
    it must still wait and waits again, its attempt not counted. Returns the steps woken.
    """
    now, woken = timezone.now(), 0
    for step in PipelineStep.objects.filter(
        voicemail_id=voicemail_id, status__in=[Status.WAITING, Status.RUNNING]
    ).only("pk", "name", "status"):
        row = PipelineStep.objects.filter(pk=step.pk, status=step.status)
        if step.status == Status.RUNNING:
            row.update(next_attempt_at=now)
        elif row.update(status=Status.PENDING, next_attempt_at=None, detail=""):
            _enqueue(voicemail_id, step.name)
            woken += 1
    return woken


def recover_stalled(now=None) -> int:
    """Hand back steps whose worker died (lease expired) or whose task was lost (waiting
    steps included, once their time is up)."""
    now = now or timezone.now()
    recovered = 0
    for step in jobs.expired(PipelineStep.objects.filter(status=Status.RUNNING), now):
        with transaction.atomic():
            if jobs.release(
                jobs.expired(PipelineStep.objects.filter(pk=step.pk, status=Status.RUNNING), now),
                status=Status.RETRY,
                error="worker stopped during the step; handed to another worker",
            ):
                _enqueue(step.voicemail_id, step.name)
                recovered += 1
    # Due steps whose task never ran (lost between commit and enqueue, or a purged queue),
    # including waiting steps whose time is up.
    orphans = jobs.lost(
        PipelineStep.objects.filter(status__in=[Status.PENDING, Status.RETRY, Status.WAITING]),
        settings.RELAIS_STEP_LEASE_SECONDS, now,
    ).exclude(voicemail__status=Voicemail.Status.ERASED)
    for step in orphans.select_related(None)[:1000]:
        if not PipelineStep.objects.filter(
            voicemail_id=step.voicemail_id, position__lt=step.position
        ).exclude(status__in=FINISHED).exists():
            with transaction.atomic():
                _enqueue(step.voicemail_id, step.name)
            recovered += 1
    return recovered


def retry_failed(voicemail: Voicemail) -> int:
    """Operator action: give failed steps a fresh set of attempts and restart them."""
    with transaction.atomic():
        n = PipelineStep.objects.filter(voicemail=voicemail, status=Status.FAILED).update(
            status=Status.PENDING, attempts=0, error="", next_attempt_at=None
        )
        if n:
            Voicemail.objects.filter(pk=voicemail.pk).update(
                status=Voicemail.Status.PROCESSING, status_detail=""
            )
            _enqueue_next(voicemail.pk)
    return n
