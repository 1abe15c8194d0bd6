from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "relais.calls"
    verbose_name = "Appels"
