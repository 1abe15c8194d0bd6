from django.conf import settings
from django.urls import path

from . import views

app_name = "core"

urlpatterns: list = []

if settings.RELAIS_DEMO:  # the development outbox: demo sites only, not routed elsewhere
    urlpatterns += [path("demo/boite-d-envoi/", views.outbox, name="outbox")]
