from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "relais.privacy"
    verbose_name = "Protection des données"

    def ready(self):
        from . import checks  # noqa: F401 - registers the system checks
