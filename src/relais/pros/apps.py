from django.apps import AppConfig


class ProsConfig(AppConfig):
    name = "relais.pros"
    verbose_name = "Professionnels"

    def ready(self):
        from relais.directory import search

        from .services import claimed_metier_overrides

        # The directory search follows claimed listings' choice of métiers.
        search.set_metier_overrides(claimed_metier_overrides)
