from django.urls import path, re_path

from . import views

app_name = "routing"

# Tokens are django.core.signing values: URL-safe base64, ":" separators.
TOKEN_RE = r"(?P<token>[A-Za-z0-9_\-:]{20,400})"  # noqa: S105 - a pattern, not a secret

urlpatterns = [
    re_path(rf"^{TOKEN_RE}/$", views.delivery_page, name="delivery"),
    re_path(rf"^{TOKEN_RE}/(?P<which>audio|extract)$", views.delivery_media, name="media"),
    path("message/<uuid:delivery_id>/<str:which>", views.owner_media, name="owner_media"),
]
