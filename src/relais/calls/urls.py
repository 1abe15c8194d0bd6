from django.urls import path

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
]
