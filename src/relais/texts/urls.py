from django.urls import path

from . import views

app_name = "texts"

urlpatterns = [
    path("twilio/sms", views.inbound, name="inbound"),
]
