from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "relais.calls"
    verbose_name = "Appels"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from relais.directory.search_cache import invalidate
        from relais.pros.services import add_forward_number_check

        from . import checks  # noqa: F401 - registers the system checks
        from .numbers import refuse_tracking_number

        # pros sits below calls and never imports it: calls tells it which forward
        # numbers to refuse (its own tracking numbers).
        add_forward_number_check(refuse_tracking_number)
        # A dedicated tracking number never joins the shared pool (directory below us).
        from relais.directory import pool

        from .numbers import refuse_for_pool

        pool.number_checks.append(refuse_for_pool)
        # Searches show listings' tracking numbers: a number assigned or released
        # forgets the cached answers.
        from .models import TrackingNumber

        for signal in (post_save, post_delete):
            signal.connect(invalidate, sender=TrackingNumber,
                           dispatch_uid=f"calls.search-{signal}")
