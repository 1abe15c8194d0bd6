"""Pages of the calls app mounted outside /telephony/: the demo phone."""

from django.urls import path

from . import pages

app_name = "calls_pages"

urlpatterns = [
    path("demo/telephone/", pages.demo_phone, name="demo_phone"),
]
