from django.urls import path

from . import views

app_name = "credits"

urlpatterns = [
    path("acheter/", views.buy, name="buy"),
    path("stripe/webhook/", views.stripe_webhook, name="stripe-webhook"),
]
