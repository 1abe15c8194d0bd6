"""Pages of the calls app mounted outside /telephony/: the call log."""

from django.urls import path

from . import pages

app_name = "calls_pages"

urlpatterns = [
    path("pro/appels/", pages.call_log, name="call_log"),
]
