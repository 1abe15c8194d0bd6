"""``relais db_worker``: django-tasks-db's worker, on every Relais queue by default.

On top of the backport's worker it runs the apps' startup functions first
(relais.core.schedule.startup: voicemail recovers pipeline steps left by dead workers)
and the periodic jobs (relais.core.schedule). With ``--batch`` it processes everything that is
ready on every queue, including what those tasks enqueue, then exits.
"""

import threading

from django.conf import settings
from django.db import close_old_connections
from django_tasks_db.management.commands.db_worker import Command as BaseWorkerCommand

from relais.core import schedule


class Command(BaseWorkerCommand):
    help = "Run the task worker on every Relais queue (or --queue-name), with periodic jobs."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        for action in parser._actions:
            if action.dest == "queue_name":
                action.default = ",".join(settings.RELAIS_QUEUES)
        parser.add_argument(
            "--no-schedule", action="store_true",
            help="Don't run periodic jobs in this worker.",
        )

    def handle(self, *args, **options):
        no_schedule = options.pop("no_schedule")
        # What the apps registered (voicemail: steps whose worker died are handed back)
        # runs before anything else.
        for func in schedule.startup:
            func()
        if not no_schedule:
            schedule.tick()
        if options["batch"]:
            # Tasks enqueued by tasks (the next pipeline step…) are ready at once and are
            # picked up by the same loop; the worker exits when nothing is ready.
            super().handle(*args, **options)
            return
        if not no_schedule:
            stop = threading.Event()
            threading.Thread(target=self._ticker, args=(stop,), daemon=True).start()
        super().handle(*args, **options)

    @staticmethod
    def _ticker(stop: threading.Event) -> None:
        while not stop.wait(30):
            try:
                schedule.tick()
            finally:
                close_old_connections()
