from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "relais.routing"
    verbose_name = "Routage"
