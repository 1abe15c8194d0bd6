from django.urls import path, re_path

from . import views

app_name = "calls"

# The message's webhooks, /telephony/twilio/record and /gather, are the voicemail app's
# (relais.voicemail.webhook_urls).
urlpatterns = [
    path("twilio/voice", views.voice, name="voice"),
    path("twilio/dial", views.dial, name="dial"),
    path("twilio/recording-status", views.recording_status, name="recording_status"),
    path("twilio/status", views.status, name="status"),
    path("prompts/<slug:key>", views.prompt_audio, name="prompt"),
    re_path(
        r"^local/recordings/(?P<recording_sid>RE[0-9a-fA-F]{32})(?P<ext>\.[a-z0-9]{2,4})?$",
        views.local_recording,
        name="local_recording",
    ),
]
