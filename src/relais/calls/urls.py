from django.conf import settings
from django.urls import path, re_path

from . import views

app_name = "calls"

urlpatterns = [
    path("twilio/voice", views.voice, name="voice"),
    path("twilio/dial", views.dial, name="dial"),
    path("twilio/record", views.record, name="record"),
    path("twilio/gather", views.gather, name="gather"),
    path("twilio/recording-status", views.recording_status, name="recording_status"),
    path("twilio/status", views.status, name="status"),
    path("prompts/<slug:key>", views.prompt_audio, name="prompt"),
]

if settings.RELAIS_DEMO:
    # The local provider (a fake Twilio holding the local phone's recordings) exists only
    # on demo sites: elsewhere these URLs are not routed at all.
    urlpatterns += [
        re_path(
            r"^local/recordings/(?P<recording_sid>RE[0-9a-fA-F]{32})(?P<ext>\.[a-z0-9]{2,4})?$",
            views.local_recording,
            name="local_recording",
        ),
    ]
