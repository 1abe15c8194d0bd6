"""Pages of the calls app mounted outside /telephony/: the call log and the demo phone."""

from django.conf import settings
from django.urls import path

from . import pages

app_name = "calls_pages"

urlpatterns = [
    path("pro/appels/", pages.call_log, name="call_log"),
]

if settings.RELAIS_DEMO:  # the local phone: demo sites only, not routed elsewhere
    urlpatterns += [path("demo/telephone/", pages.demo_phone, name="demo_phone")]
