from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("", views.start, name="start"),
    path("code/", views.code, name="code"),
    path("message/", views.message, name="message"),
    path("message/enregistrement", views.audio, name="audio"),
    path("message/retirer-le-partage/", views.withdraw, name="withdraw"),
    path("message/effacer/", views.erase, name="erase"),
    path("quitter/", views.leave, name="leave"),
]
