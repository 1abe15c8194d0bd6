"""Periodic jobs, run by the task workers (no cron needed).

Every worker ticks about once a minute; a job that is due is claimed with a conditional
UPDATE on its PeriodicRun row, so with several workers each job still runs once per
interval. Jobs are plain functions; long ones should enqueue tasks rather than work inline.
"""

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    function: Callable[[], object]  # takes no argument


# Functions (no argument) every task worker runs once at start, before anything else:
# core knows no app, so the apps register theirs in AppConfig.ready() with on_startup()
# (voicemail hands back the pipeline steps left by dead workers).
startup: list = []


def on_startup(func):
    """Register ``func`` to run when a task worker starts (once, in order); returns it."""
    if func not in startup:
        startup.append(func)
    return func


def periodic_jobs() -> tuple[Job, ...]:
    """The periodic jobs. ``settings.RELAIS_PERIODIC_JOBS`` names the list (a dotted path,
    ``relais.flow.PERIODIC``: the project lists the jobs of every app) or is the list."""
    configured = getattr(settings, "RELAIS_PERIODIC_JOBS", ())
    if isinstance(configured, str):
        return _named(configured)
    return tuple(configured)


@functools.cache
def _named(path: str) -> tuple[Job, ...]:
    return tuple(import_string(path))


def due_jobs(now: datetime | None = None, jobs=None) -> list[Job]:
    """Claim and return the jobs due now (each claimed by exactly one caller)."""
    from relais.core.models import PeriodicRun

    now = now or timezone.now()
    claimed = []
    for job in periodic_jobs() if jobs is None else jobs:
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


def tick(now: datetime | None = None, jobs=None) -> list[str]:
    """Run the jobs that are due; a failing job is logged and does not stop the others."""
    ran = []
    for job in due_jobs(now, jobs):
        try:
            job.function()
            ran.append(job.name)
        except Exception:
            logger.exception("periodic job %s failed", job.name)
    return ran
