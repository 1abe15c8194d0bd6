from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_reference_data(sender, using="default", **kwargs):
    from relais.directory.reference import sync_reference_data

    sync_reference_data(using=using)


class DirectoryConfig(AppConfig):
    name = "relais.directory"
    verbose_name = "Annuaire"

    def ready(self) -> None:
        # After the last Relais app's migrations, so every table exists.
        post_migrate.connect(_sync_reference_data, sender=self, dispatch_uid="relais-reference")
