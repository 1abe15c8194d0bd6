"""Durable jobs: rows that a task works on exactly once, through outages and crashes.

A durable job is a database row with these fields (any model of any app):

- ``attempts`` — how many times a worker took the row;
- ``lease_until`` — while in the future, a worker holds the row; ``None`` when nobody does;
- ``next_attempt_at`` — a retry is not due before it (``None``: due now);
- ``enqueued_at`` — when its task was last handed to the queue.

Tasks only carry the row's id: the state lives in the row, so a lost or duplicated task
is harmless. Whoever :func:`claim` lets through works on the row, the others return;
a failure :func:`release` s the row for a later attempt (:func:`backoff`), success
:func:`finish` es it; a row that cannot be worked on yet (it waits for something) is
:func:`postpone` d without counting the attempt. A worker that dies leaves a lease that
runs out (:func:`expired`), a task lost between commit and queue leaves a due row nobody
enqueued lately (:func:`lost`); the owner's periodic recovery enqueues both again
(:func:`stalled`).

Which rows are still to do (a status, a channel…) is the owner's business: every
function takes a queryset already narrowed to them.
"""

from datetime import datetime, timedelta

from django.db import connections, transaction
from django.db.models import F, Q, QuerySet, sql
from django.db.models.functions import Greatest
from django.utils import timezone

from .tasks import due_at

__all__ = ["backoff", "claim", "claim_many", "due", "enqueue", "expired", "finish", "lost",
           "postpone", "release", "stalled", "unleased"]


def due(now: datetime) -> Q:
    """No retry is scheduled later than ``now``."""
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def unleased(now: datetime) -> Q:
    """Nobody holds the row: no lease, or a lease that ran out before ``now``."""
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def claim(queryset: QuerySet, lease_seconds: float, *, now: datetime | None = None,
          **changes) -> bool:
    """Take the row for this worker: a conditional UPDATE of the rows of ``queryset``
    that are due and unleased, setting a lease of ``lease_seconds`` and counting the
    attempt (plus ``changes``, e.g. a status). True if taken; a second worker or a
    duplicate task finds nothing to take."""
    now = now or timezone.now()
    return bool(queryset.filter(due(now), unleased(now)).update(
        lease_until=now + timedelta(seconds=lease_seconds), attempts=F("attempts") + 1,
        **changes,
    ))


def claim_many(queryset: QuerySet, lease_seconds: float, *,
               now: datetime | None = None) -> list:
    """:func:`claim` for many rows at once: one ``UPDATE … RETURNING`` (SQLite ≥ 3.35,
    PostgreSQL) takes every row of ``queryset`` that is due and unleased; returns the
    primary keys of the rows *this* call took (a row another worker holds, or took at
    the same moment, is not among them)."""
    now = now or timezone.now()
    queryset = queryset.filter(due(now), unleased(now))
    model = queryset.model
    query = queryset.query.chain(sql.UpdateQuery)
    query.add_update_fields([
        (model._meta.get_field("lease_until"), None, now + timedelta(seconds=lease_seconds)),
        (model._meta.get_field("attempts"), None, F("attempts") + 1),
    ])
    compiler = query.get_compiler(queryset.db)
    statement, params = compiler.as_sql()
    if not statement:
        return []
    pk = compiler.connection.ops.quote_name(model._meta.pk.column)
    with transaction.atomic(using=queryset.db, savepoint=False):
        with connections[queryset.db].cursor() as cursor:
            cursor.execute(f"{statement} RETURNING {pk}", params)
            rows = cursor.fetchall()
    field = model._meta.pk
    return [field.to_python(r[0]) for r in rows]


def backoff(attempt: int, base: float, cap: float) -> float:
    """Seconds before retrying after the ``attempt``-th failure (1, 2, …): ``base`` ×
    2^(attempt-1), at most ``cap``."""
    return min(base * 2 ** max(0, attempt - 1), cap)


def release(queryset: QuerySet, retry_in: float | None = None, *,
            now: datetime | None = None, **changes) -> int:
    """Give the row back for another attempt: no lease; due at once, or ``retry_in``
    seconds from now (plus ``changes``, e.g. the error)."""
    next_attempt_at = None
    if retry_in is not None:
        next_attempt_at = (now or timezone.now()) + timedelta(seconds=retry_in)
    return queryset.update(lease_until=None, next_attempt_at=next_attempt_at, **changes)


def postpone(queryset: QuerySet, until: datetime | None, **changes) -> int:
    """Give the row back *without counting the attempt* its claim took: the worker found
    it could not work on it yet (a wait, not a failure). No lease; not due before
    ``until`` (``None``: due at once), plus ``changes``, e.g. a status."""
    return queryset.update(lease_until=None, next_attempt_at=until,
                           attempts=Greatest(F("attempts") - 1, 0), **changes)


def finish(queryset: QuerySet, **changes) -> int:
    """Done with the row (``changes`` gives its final status): no lease, no attempt
    scheduled."""
    return queryset.update(lease_until=None, next_attempt_at=None, **changes)


def expired(queryset: QuerySet, now: datetime | None = None) -> QuerySet:
    """Rows whose worker died (or overran): the lease ran out."""
    return queryset.filter(lease_until__lt=now or timezone.now())


def _lost(now: datetime, stale_seconds: float) -> Q:
    return Q(lease_until__isnull=True) & (
        Q(enqueued_at__isnull=True)
        | Q(enqueued_at__lt=now - timedelta(seconds=stale_seconds))
    )


def lost(queryset: QuerySet, stale_seconds: float, now: datetime | None = None) -> QuerySet:
    """Due rows nobody holds whose task never ran: never enqueued, or enqueued more than
    ``stale_seconds`` ago (lost between commit and queue, or a purged queue)."""
    now = now or timezone.now()
    return queryset.filter(due(now), _lost(now, stale_seconds))


def stalled(queryset: QuerySet, stale_seconds: float, now: datetime | None = None) -> QuerySet:
    """Due rows to enqueue again: :func:`expired` or :func:`lost`."""
    now = now or timezone.now()
    return queryset.filter(due(now), Q(lease_until__lt=now) | _lost(now, stale_seconds))


def enqueue(queryset: QuerySet, task, *args, queue: str, delay: float = 0.0) -> None:
    """Record ``enqueued_at`` on the row and, once the transaction commits, enqueue
    ``task(*args)`` on ``queue`` — after ``delay`` seconds if given, rounded up to the
    whole second (see :func:`relais.core.tasks.due_at`)."""
    now = timezone.now()
    queryset.update(enqueued_at=now)
    run_after = due_at(now, delay)

    def send():
        t = task.using(queue_name=queue, run_after=run_after) if run_after else (
            task.using(queue_name=queue)
        )
        t.enqueue(*args)

    transaction.on_commit(send)

