from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "relais.console"
    label = "console"
    verbose_name = "Console de l'opérateur"
