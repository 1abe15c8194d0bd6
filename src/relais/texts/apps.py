from django.apps import AppConfig

from relais.calls import signals


class TextsConfig(AppConfig):
    name = "relais.texts"
    verbose_name = "SMS des appelants"

    def ready(self):
        from . import services

        # After the voicemail app's own receiver (it sits below): the message exists.
        signals.call_ended.connect(services.call_ended, dispatch_uid="texts.call_ended")
        signals.recording_ready.connect(services.recording_ready,
                                        dispatch_uid="texts.recording_ready")
