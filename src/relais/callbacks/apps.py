from django.apps import AppConfig


class CallbacksConfig(AppConfig):
    """Call-backs through Relais: the professional is connected to the caller without
    either seeing the other's number, and pays only for a call-back that connected."""

    name = "relais.callbacks"
    label = "callbacks"
    verbose_name = "Rappels via Relais"

    def ready(self):
        from . import returns

        returns.connect()
