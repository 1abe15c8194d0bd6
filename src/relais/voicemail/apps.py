from django.apps import AppConfig


class VoicemailConfig(AppConfig):
    name = "relais.voicemail"
    verbose_name = "Messages vocaux"
