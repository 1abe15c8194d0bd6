"""``relais worker``: the task worker of the configured backend, with its options.

``RELAIS_TASKS_BACKEND=db`` runs ``relais db_worker``, ``rq`` runs ``relais rq_worker``;
both take ``--queue-name``, ``--batch``, ``--no-schedule``, ``--max-tasks``, ``--worker-id``.
"""

from django.conf import settings

if settings.TASKS["default"]["BACKEND"].startswith("django_tasks_rq."):
    from .rq_worker import Command
else:
    from .db_worker import Command

__all__ = ["Command"]
