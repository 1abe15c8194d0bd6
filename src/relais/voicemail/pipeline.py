"""The voicemail processing pipeline: explicit steps with state, retries and recovery.

Each voicemail goes through the steps below, one task per step run. A step is a plain
function ``step(voicemail) -> None`` that must be idempotent (running it twice gives the
same result). The pipeline stores each step's status, attempts, timing and last error:

- a step that raises is retried with exponential backoff (``RELAIS_RETRY_BASE_SECONDS``
  × 2^(attempt-1), at most ``RELAIS_RETRY_MAX_SECONDS``), up to its number of attempts
  (``RELAIS_STEP_MAX_ATTEMPTS`` unless the step says otherwise); then it is ``failed``, the
  voicemail is ``failed`` with the error, and an operator can retry it from the admin;
- a step raising :class:`Stop` ends the pipeline on purpose (e.g. the audio is not a
  voice message) with an explicit status on the voicemail;
- a step runs under a lease (``RELAIS_STEP_LEASE_SECONDS``): if the worker dies
  mid-step, :func:`recover_stalled` (run by every worker at start and every minute)
  hands the step to another worker.

Tasks only carry (voicemail id, step name): the state lives in PipelineStep rows, so a
lost or duplicated task is harmless: whoever claims the step runs it, others return.
"""

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from relais.core.tasks import due_at, task

from .models import PipelineStep, Voicemail

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepSpec:
    name: str
    function: str  # dotted path to ``step(voicemail) -> None``
    queue: str
    max_attempts: int | None = None  # default: RELAIS_STEP_MAX_ATTEMPTS

    @property
    def attempts_allowed(self) -> int:
        return self.max_attempts or settings.RELAIS_STEP_MAX_ATTEMPTS


DEFAULT_STEPS = (
    # A provider outage delays the download, it never loses it: ~2 days of retries.
    StepSpec("fetch", "relais.voicemail.recordings.fetch_step", "audio", max_attempts=60),
    StepSpec("normalise", "relais.voicemail.steps.normalise", "audio"),
    StepSpec("transcribe", "relais.voicemail.steps.transcribe", "transcription"),
    StepSpec("understand", "relais.voicemail.steps.understand", "default"),
    StepSpec("redact", "relais.voicemail.steps.redact", "audio"),
    # Waits (retries) while the caller may still be answering the consent question.
    StepSpec("route", "relais.routing.steps.route", "default", max_attempts=12),
    StepSpec("notify", "relais.routing.steps.notify", "notifications"),
)

Status = PipelineStep.Status
FINISHED = (Status.DONE, Status.SKIPPED)


class Stop(Exception):
    """Raised by a step to end the pipeline on purpose, with a status for the voicemail."""

    def __init__(self, status: str, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def steps() -> tuple[StepSpec, ...]:
    configured = getattr(settings, "RELAIS_PIPELINE_STEPS", None)
    if configured:
        return tuple(StepSpec(*s) for s in configured)
    return DEFAULT_STEPS


def _spec(name: str) -> StepSpec:
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
    spec = _spec(name)
    now = timezone.now()
    PipelineStep.objects.filter(voicemail_id=voicemail_id, name=name).update(enqueued_at=now)
    run_after = due_at(now, delay)

    def send():
        t = run_step.using(queue_name=spec.queue, run_after=run_after) if run_after else (
            run_step.using(queue_name=spec.queue)
        )
        t.enqueue(str(voicemail_id), name)

    transaction.on_commit(send)


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
    lease = now + timedelta(seconds=settings.RELAIS_STEP_LEASE_SECONDS)
    claimable = Q(status__in=[Status.PENDING, Status.RETRY]) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    ) | Q(status=Status.RUNNING, lease_until__lt=now)
    taken = (
        PipelineStep.objects.filter(pk=step.pk)
        .filter(claimable)
        .update(status=Status.RUNNING, lease_until=lease, attempts=F("attempts") + 1,
                started_at=now, finished_at=None)
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
        import_string(spec.function)(voicemail)
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
        delay = min(
            settings.RELAIS_RETRY_BASE_SECONDS * 2 ** (step.attempts - 1),
            settings.RELAIS_RETRY_MAX_SECONDS,
        )
        with transaction.atomic():
            _finish(step, began, Status.RETRY, error=error,
                    next_attempt_at=timezone.now() + timedelta(seconds=delay))
            _enqueue(voicemail_id, name, delay)
        logger.warning("voicemail %s: step %s attempt %s failed (%s), retry in %.0fs",
                       voicemail_id, name, step.attempts, error, delay)
        return "retry"
    with transaction.atomic():
        _finish(step, began, Status.DONE)
        _enqueue_next(voicemail_id)
    return "done"


def _finish(step: PipelineStep, began: float, status: str, *, error: str = "",
            next_attempt_at=None) -> None:
    PipelineStep.objects.filter(pk=step.pk).update(
        status=status,
        finished_at=timezone.now(),
        duration_ms=int((time.monotonic() - began) * 1000),
        error=error,
        lease_until=None,
        next_attempt_at=next_attempt_at,
    )


def recover_stalled(now=None) -> int:
    """Hand back steps whose worker died (lease expired) or whose task was lost."""
    now = now or timezone.now()
    recovered = 0
    stale_enqueue = now - timedelta(seconds=settings.RELAIS_STEP_LEASE_SECONDS)
    expired = PipelineStep.objects.filter(status=Status.RUNNING, lease_until__lt=now)
    for step in expired:
        with transaction.atomic():
            if PipelineStep.objects.filter(
                pk=step.pk, status=Status.RUNNING, lease_until__lt=now
            ).update(status=Status.RETRY, lease_until=None, next_attempt_at=None,
                     error="worker stopped during the step; handed to another worker"):
                _enqueue(step.voicemail_id, step.name)
                recovered += 1
    # Due steps whose task never ran (lost between commit and enqueue, or a purged queue).
    orphans = PipelineStep.objects.filter(
        status__in=[Status.PENDING, Status.RETRY],
    ).filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)).filter(
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale_enqueue)
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
