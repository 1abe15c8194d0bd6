"""``relais rq_worker``: an RQ worker (django-tasks-rq) on every Relais queue by default.

The production task backend (``RELAIS_TASKS_BACKEND=rq``) keeps the queues in Redis. This
worker is the counterpart of ``relais db_worker`` and takes the same options:

- it listens on every queue of ``RELAIS_QUEUES`` unless ``--queue-name a,b`` is given
  (a worker pool per queue: ``--queue-name transcription`` on the transcription nodes);
- at start it runs the apps' startup functions (relais.core.schedule.startup: voicemail
  hands back pipeline steps left by dead workers), and a ticker thread runs
  the periodic jobs (relais.core.schedule; each job is claimed in the database, so any
  number of workers may tick);
- a scheduler thread moves delayed tasks (retries with backoff) to their queue when they
  are due (one worker per queue does it at a time, by RQ's scheduler lock);
- ``--batch`` processes everything that is ready, including what those tasks enqueue,
  then exits (RQ's burst mode): what the tests and one-off runs use.

Jobs run in the worker's own process (RQ's SimpleWorker: no fork per job), so the Whisper
model stays loaded between messages; a job that kills the process is recovered through
the pipeline's leases. Database connections are checked before and after every job, so a
restarted PostgreSQL costs one failed attempt at most, not a dead worker.
"""

import argparse
import logging
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connections
from django.utils.crypto import get_random_string
from rq.timeouts import TimerDeathPenalty
from rq.worker import SimpleWorker

from relais.core import schedule

TICK_SECONDS = 30

logger = logging.getLogger(__name__)


def _in_transaction() -> bool:
    # A test's atomic block (the in-process --batch drain) must keep its connection.
    return any(c.in_atomic_block for c in connections.all(initialized_only=True))


class RelaisWorker(SimpleWorker):
    """RQ's in-process worker, with Django's connection hygiene around each job."""

    def execute_job(self, job, queue):
        if not _in_transaction():
            close_old_connections()
        try:
            return super().execute_job(job, queue)
        finally:
            if not _in_transaction():
                close_old_connections()


class BatchWorker(RelaisWorker):
    # Job timeouts by a timer thread rather than SIGALRM, which the caller (pytest-timeout,
    # a shell) may be using.
    death_penalty_class = TimerDeathPenalty


def get_worker(queue_names: list[str], *, batch: bool, name: str):
    import django_rq
    from django_tasks_rq.backend import Job

    queues = [django_rq.get_queue(q, job_class=Job) for q in queue_names]
    worker_class = BatchWorker if batch else RelaisWorker
    return worker_class(queues, connection=queues[0].connection, job_class=Job, name=name)


def enqueue_due_scheduled(worker, queue_names: list[str]) -> None:
    """Move the delayed tasks that are due to their queue (what --batch processes).

    Done here rather than by RQ's burst-mode scheduler, which skips queues whose scheduler
    lock another (or a just finished) worker holds; a task enqueued twice is harmless:
    pipeline steps and notifications are claimed in the database before they run.
    """
    from rq.scheduler import RQScheduler

    scheduler = RQScheduler(worker.queues, connection=worker.connection)
    scheduler.prepare_registries(queue_names)
    scheduler.enqueue_scheduled_jobs()


def move_due_scheduled(worker, stop: threading.Event, interval: float = 1.0) -> None:
    """RQ's scheduler, in a thread of the worker: every second, the worker holding the
    queue's scheduler lock (RQ's own, expiring after a minute when its holder dies) moves
    the delayed tasks that are due to their queue.

    RQ's ``--with-scheduler`` forks a scheduler process instead, which outlives a worker
    killed with SIGKILL (and keeps its database connection open); a thread dies with it.
    """
    from rq.scheduler import RQScheduler

    scheduler = RQScheduler(worker.queues, connection=worker.connection,
                            name=f"{worker.name}-scheduler")
    try:
        while not stop.wait(interval):
            try:
                if scheduler.acquire_locks():
                    scheduler.enqueue_scheduled_jobs()
            except Exception:
                logger.exception("moving due delayed tasks failed")
    finally:
        scheduler.release_locks()


class Command(BaseCommand):
    help = "Run the RQ task worker on every Relais queue (or --queue-name), with periodic jobs."

    def add_arguments(self, parser):
        parser.add_argument(
            "--queue-name", default=",".join(settings.RELAIS_QUEUES),
            help="Queues to process, separated by commas (default: every Relais queue).",
        )
        parser.add_argument(
            "--batch", action="store_true",
            help="Process every task that is ready (and what they enqueue), then exit.",
        )
        parser.add_argument(
            "--no-schedule", action="store_true", help="Don't run periodic jobs in this worker."
        )
        parser.add_argument(
            "--max-tasks", type=int, default=None,
            help="Exit after this many tasks (a worker recycled by its supervisor).",
        )
        parser.add_argument(
            "--worker-id", default=None, help="Worker name, unique in the pool (default: random)."
        )
        # Accepted for compatibility with db_worker's command line: RQ blocks on Redis
        # instead of polling, and starts at once.
        parser.add_argument("--interval", type=float, default=1, help=argparse.SUPPRESS)
        parser.add_argument("--no-startup-delay", action="store_false", dest="startup_delay",
                            help=argparse.SUPPRESS)
        parser.add_argument("--reload", action="store_true", help=argparse.SUPPRESS)
        parser.add_argument("--no-reload", action="store_false", dest="reload",
                            help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        if not settings.TASKS["default"]["BACKEND"].startswith("django_tasks_rq."):
            raise CommandError("rq_worker needs RELAIS_TASKS_BACKEND=rq (use db_worker).")
        queue_names = [q for q in options["queue_name"].split(",") if q]
        unknown = sorted(set(queue_names) - set(settings.RELAIS_QUEUES))
        if unknown:
            raise CommandError(f"Unknown queue(s): {', '.join(unknown)}.")
        batch, no_schedule = options["batch"], options["no_schedule"]
        verbosity = options["verbosity"]
        level = "WARNING" if verbosity == 0 else ("DEBUG" if verbosity >= 2 else "INFO")

        # What the apps registered (voicemail: steps whose worker died are handed back)
        # runs before anything else.
        for func in schedule.startup:
            func()
        if not no_schedule:
            schedule.tick()
        name = options["worker_id"] or f"relais-{get_random_string(12).lower()}"
        worker = get_worker(queue_names, batch=batch, name=name)
        stop = threading.Event()
        if not batch:
            threading.Thread(target=move_due_scheduled, args=(worker, stop), daemon=True).start()
        if not batch and not no_schedule:
            threading.Thread(target=self._ticker, args=(stop,), daemon=True).start()
        if not _in_transaction():
            close_old_connections()
        if batch:
            enqueue_due_scheduled(worker, queue_names)
        try:
            worker.work(burst=batch, with_scheduler=False, logging_level=level,
                        max_jobs=options["max_tasks"])
        finally:
            stop.set()

    @staticmethod
    def _ticker(stop: threading.Event) -> None:
        while not stop.wait(TICK_SECONDS):
            try:
                schedule.tick()
            finally:
                close_old_connections()

