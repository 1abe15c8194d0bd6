from django.apps import AppConfig


class VoicemailConfig(AppConfig):
    name = "relais.voicemail"
    verbose_name = "Messages vocaux"

    def ready(self):
        from relais.core import schedule

        from . import pipeline  # imports the models

        # Every task worker hands back the steps left by dead workers when it starts.
        schedule.on_startup(pipeline.recover_stalled)
