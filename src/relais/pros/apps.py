from django.apps import AppConfig

from relais.directory import search  # no model: importable before the apps are ready


class ProsConfig(AppConfig):
    name = "relais.pros"
    verbose_name = "Professionnels"

    def ready(self):
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from relais.directory.search_cache import invalidate

        from .models import Listing
        from .services import claimed_metier_overrides  # imports the models

        # The directory search follows claimed listings' choice of métiers.
        search.set_metier_overrides(claimed_metier_overrides)
        # A claim, its approval or its settings change what searches show.
        for signal in (post_save, post_delete):
            signal.connect(invalidate, sender=Listing, dispatch_uid=f"pros.search-{signal}")
        m2m_changed.connect(invalidate, sender=Listing.metiers.through,
                            dispatch_uid="pros.search-metiers")
