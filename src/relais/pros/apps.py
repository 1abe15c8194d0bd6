from django.apps import AppConfig


class ProsConfig(AppConfig):
    name = "relais.pros"
    verbose_name = "Professionnels"
