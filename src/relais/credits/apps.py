from django.apps import AppConfig


class CreditsConfig(AppConfig):
    name = "relais.credits"
    verbose_name = "Crédits et déblocages"
