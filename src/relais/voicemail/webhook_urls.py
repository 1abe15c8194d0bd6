"""The message's webhooks, next to the call's (relais.calls.urls) under /telephony/."""

from django.urls import path

from . import webhooks

app_name = "voicemail_webhooks"

urlpatterns = [
    path("twilio/record", webhooks.record, name="record"),
    path("twilio/gather", webhooks.gather, name="gather"),
]
