from django.apps import AppConfig

from relais.calls import signals


class VoicemailConfig(AppConfig):
    name = "relais.voicemail"
    verbose_name = "Messages vocaux"

    def ready(self):
        from . import callbacks  # models are loaded by now

        # The call log tells of the recording and of the call's end; the message follows.
        signals.recording_ready.connect(callbacks.recording_ready,
                                        dispatch_uid="voicemail.recording_ready")
        signals.call_ended.connect(callbacks.call_ended, dispatch_uid="voicemail.call_ended")
