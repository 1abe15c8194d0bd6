from django.apps import AppConfig

from relais.directory import search  # no model: importable before the apps are ready


class ProsConfig(AppConfig):
    name = "relais.pros"
    verbose_name = "Professionnels"

    def ready(self):
        from .services import claimed_metier_overrides  # imports the models

        # The directory search follows claimed listings' choice of métiers.
        search.set_metier_overrides(claimed_metier_overrides)
