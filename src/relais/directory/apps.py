from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DirectoryConfig(AppConfig):
    name = "relais.directory"
    verbose_name = "Annuaire"

    def ready(self) -> None:
        # The loader imports the models, which are loaded once ready() runs.
        from .reference_sync import sync_after_migrate

        # After the last Relais app's migrations, so every table exists.
        post_migrate.connect(sync_after_migrate, sender=self, dispatch_uid="relais-reference")
