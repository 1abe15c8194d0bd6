from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "pros"

urlpatterns = [
    path("connexion/", views.LoginView.as_view(), name="login"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("inscription/", views.signup, name="signup"),
    path("mot-de-passe/", views.PasswordResetView.as_view(), name="password-reset"),
    path("mot-de-passe/envoye/", auth_views.PasswordResetDoneView.as_view(
        template_name="pros/password_reset_done.html"), name="password-reset-done"),
    path("mot-de-passe/nouveau/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(),
         name="password-reset-confirm"),
    path("mot-de-passe/enregistre/", auth_views.PasswordResetCompleteView.as_view(
        template_name="pros/password_reset_complete.html"), name="password-reset-complete"),
    path("verification/renvoyer/", views.resend_verification, name="resend-verification"),
    path("verification/<str:token>/", views.verify, name="verify"),
    path("fiches/", views.listings, name="listings"),
    path("fiches/revendiquer/", views.claim, name="claim"),
    path("fiches/<int:pk>/", views.listing_settings, name="listing-settings"),
]
