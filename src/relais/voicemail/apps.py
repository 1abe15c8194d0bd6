from django.apps import AppConfig

from relais.calls import signals
from relais.core import schedule


class VoicemailConfig(AppConfig):
    name = "relais.voicemail"
    verbose_name = "Messages vocaux"

    def ready(self):
        # Modules that import models are loaded once the app registry is ready.
        from . import callbacks, pipeline

        # Every task worker hands back the steps left by dead workers when it starts.
        schedule.on_startup(pipeline.recover_stalled)
        # The call log tells of the recording and of the call's end; the message follows.
        signals.recording_ready.connect(callbacks.recording_ready,
                                        dispatch_uid="voicemail.recording_ready")
        signals.call_ended.connect(callbacks.call_ended, dispatch_uid="voicemail.call_ended")
