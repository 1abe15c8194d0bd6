from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "relais.core"
    verbose_name = "Core"
