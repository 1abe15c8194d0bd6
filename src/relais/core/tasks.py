"""Django's Tasks API: ``django.tasks`` on Django 6, the django-tasks backport on 5.2."""

try:  # pragma: no cover - Django 6
    from django.tasks import task
except ImportError:  # Django 5.2
    from django_tasks import task

__all__ = ["task"]
