from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "relais.calls"
    verbose_name = "Appels"

    def ready(self):
        from . import checks  # noqa: F401 - registers the system checks
