from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "relais.routing"
    verbose_name = "Routage"

    def ready(self):
        from . import signals  # noqa: F401 - connects the index maintenance
