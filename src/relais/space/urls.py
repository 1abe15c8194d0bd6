"""The professional's space, mounted under /pro/ next to the accounts and listings (pros)."""

from django.urls import path

from . import views

app_name = "space"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("messages/<uuid:delivery_id>/", views.message, name="message"),
    path("messages/<uuid:delivery_id>/traite/", views.mark, name="mark"),
    path("messages/<uuid:delivery_id>/debloquer/", views.unlock, name="unlock"),
    path("messages/<uuid:delivery_id>/pas-pour-moi/", views.feedback, name="feedback"),
    path("messages/<uuid:delivery_id>/rappeler/", views.callback, name="callback"),
    path("messages/<uuid:delivery_id>/signaler/", views.report, name="report"),
    path("credits/", views.credits_page, name="credits"),
    path("appels/", views.call_log, name="call_log"),
]
