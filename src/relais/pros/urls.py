from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import TemplateView

app_name = "pros"

urlpatterns = [
    path("connexion/", auth_views.LoginView.as_view(template_name="pros/login.html"), name="login"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("", TemplateView.as_view(template_name="pros/inbox.html"), name="inbox"),
]
