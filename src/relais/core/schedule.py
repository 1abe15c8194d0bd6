"""Periodic jobs, run by the task workers (no cron needed).

Every worker ticks about once a minute; a job that is due is claimed with a conditional
UPDATE on its PeriodicRun row, so with several workers each job still runs once per
interval. Jobs are plain functions; long ones should enqueue tasks rather than work inline.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    function: str  # dotted path to a function taking no argument


JOBS = (
    Job("recover-stalled-steps", timedelta(minutes=1), "relais.voicemail.pipeline.recover_stalled"),
    Job("settle-stale-messages", timedelta(minutes=10), "relais.voicemail.callbacks.settle_stale"),
    # Notifications whose task was lost or whose worker died are sent again.
    Job("recover-notifications", timedelta(minutes=1), "relais.routing.notifications.recover"),
    # Daily digests: the job runs often and sends once RELAIS_DIGEST_HOUR has passed.
    Job("daily-digests", timedelta(minutes=10), "relais.routing.notifications.send_due_digests"),
    # The recipient index against the live tables (repairs bulk updates without signals).
    Job("reconcile-recipient-index", timedelta(days=1), "relais.routing.index.reconcile"),
    # Retention periods (RELAIS_RETENTION_*_DAYS): recordings, transcripts, metadata.
    Job("retention-purge", timedelta(hours=1), "relais.privacy.services.purge"),
)


# Functions (no argument) every task worker runs once at start, before anything else:
# core knows no app, so the apps register theirs in AppConfig.ready() with on_startup()
# (voicemail hands back the pipeline steps left by dead workers).
startup: list = []


def on_startup(func):
    """Register ``func`` to run when a task worker starts (once, in order); returns it."""
    if func not in startup:
        startup.append(func)
    return func


def due_jobs(now: datetime | None = None, jobs=JOBS) -> list[Job]:
    """Claim and return the jobs due now (each claimed by exactly one caller)."""
    from relais.core.models import PeriodicRun

    now = now or timezone.now()
    claimed = []
    for job in jobs:
        try:
            with transaction.atomic():
                PeriodicRun.objects.get_or_create(name=job.name, defaults={"last_run_at": EPOCH})
        except IntegrityError:  # another worker created it at the same moment
            pass
        if PeriodicRun.objects.filter(name=job.name, last_run_at__lte=now - job.every).update(
            last_run_at=now
        ):
            claimed.append(job)
    return claimed


def tick(now: datetime | None = None, jobs=JOBS) -> list[str]:
    """Run the jobs that are due; a failing job is logged and does not stop the others."""
    ran = []
    for job in due_jobs(now, jobs):
        try:
            import_string(job.function)()
            ran.append(job.name)
        except Exception:
            logger.exception("periodic job %s failed", job.name)
    return ran
