"""The demo's URLs, mounted at the site's root only when the demo app is installed."""

from django.urls import path, re_path

from . import views

app_name = "demo"

urlpatterns = [
    path("demo/telephone/", views.demo_phone, name="phone"),
    path("demo/boite-d-envoi/", views.outbox, name="outbox"),
    re_path(
        r"^telephony/local/recordings/(?P<recording_sid>RE[0-9a-fA-F]{32})"
        r"(?P<ext>\.[a-z0-9]{2,4})?$",
        views.local_recording,
        name="local_recording",
    ),
]
