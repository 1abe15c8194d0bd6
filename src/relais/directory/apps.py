from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DirectoryConfig(AppConfig):
    name = "relais.directory"
    verbose_name = "Annuaire"

    def ready(self) -> None:
        # The loader imports the models, which are loaded once ready() runs.
        from .reference_sync import sync_after_migrate
        from .search_cache import invalidate
        from .signals import establishments_changed

        # After the last Relais app's migrations, so every table exists.
        post_migrate.connect(sync_after_migrate, sender=self, dispatch_uid="relais-reference")
        # A SIRENE import changes what searches show: cached answers are forgotten.
        establishments_changed.connect(invalidate, dispatch_uid="directory.search-cache")
        from django.db.models.signals import post_delete, post_save

        from .models import Establishment

        for signal in (post_save, post_delete):  # an operator's edit in the admin
            signal.connect(invalidate, sender=Establishment,
                           dispatch_uid=f"directory.search-{signal}")
