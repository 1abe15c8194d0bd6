from django.urls import path

from . import views

app_name = "core"

urlpatterns = [
    path("demo/boite-d-envoi/", views.outbox, name="outbox"),
]
