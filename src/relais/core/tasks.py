"""Django's Tasks API: ``django.tasks`` on Django 6, the django-tasks backport on 5.2."""

from datetime import datetime, timedelta

try:  # pragma: no cover - Django 6
    from django.tasks import task
except ImportError:  # Django 5.2
    from django_tasks import task

__all__ = ["due_at", "task"]


def due_at(now: datetime, delay: float) -> datetime | None:
    """When a task retried after ``delay`` seconds may run: None (now) or ``now + delay``
    rounded up to the next whole second. RQ's scheduler keeps whole seconds (it rounds
    down), so without this a retry could fire a moment before the step or email is due,
    be skipped as "not due yet" and wait for the periodic recovery."""
    if delay <= 0:
        return None
    at = now + timedelta(seconds=delay)
    return at if at.microsecond == 0 else at.replace(microsecond=0) + timedelta(seconds=1)
