from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo: the local phone and the fake telephony provider's HTTP side, the SIRENE
    generator, ``seed_demo`` and the outbox page. Installed only with ``RELAIS_DEMO``."""

    name = "relais.demo"
    label = "demo"
    verbose_name = "Démonstration"

    def ready(self):
        from relais.calls.providers import local

        from . import callback_phone, local_provider

        # Erasure and retention delete the local provider's copy of a recording too.
        local.register_deleter(local_provider.delete_recording)
        # Outbound calls (call-backs through Relais) are played at once, both legs.
        local.register_dialer(callback_phone.dial_in_process)
