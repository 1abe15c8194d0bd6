from django.urls import path

from . import views

app_name = "callbacks"

urlpatterns = [
    path("twilio/callback/<uuid:callback_id>/pro", views.pro, name="pro"),
    path("twilio/callback/<uuid:callback_id>/pro_key", views.pro_key, name="pro_key"),
    path("twilio/callback/<uuid:callback_id>/caller", views.caller, name="caller"),
    path("twilio/callback/<uuid:callback_id>/key", views.key, name="key"),
    path("twilio/callback/<uuid:callback_id>/dial", views.dial, name="dial"),
    path("twilio/callback/<uuid:callback_id>/status", views.status, name="status"),
]
