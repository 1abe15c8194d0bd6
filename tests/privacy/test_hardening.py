"""Login rate limiting (django-axes) on the professional and admin logins."""

import pytest
from django.contrib.auth import get_user_model

from relais.privacy.models import PortalChallenge
from tests.routing import factories as f

pytestmark = pytest.mark.django_db

PASSWORD = "motdepasse-solide-42"
LOGIN = "/pro/connexion/"


def account(email):
    """A professional who logs in with their e-mail address (it is the username)."""
    user = f.professional(email).user
    user.username = email
    user.save(update_fields=["username"])
    return user


def attempt(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password})


def test_the_pro_login_locks_after_exactly_the_failure_limit(client, settings):
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5
    pro = account("artisan-a@example.fr")
    for _ in range(limit - 1):
        assert attempt(client, pro.username, "faux").status_code == 200
    # One short of the limit: the right password still works (and resets the count).
    assert attempt(client, pro.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(limit - 1):
        assert attempt(client, pro.username, "faux").status_code == 200
    assert attempt(client, pro.username, "faux").status_code == 429  # the limit-th failure
    locked = attempt(client, pro.username, PASSWORD)
    assert locked.status_code == 429 and "_auth_user_id" not in client.session
    # Locked per (username, address): another account from the same address still logs in.
    other = account("artisan-b@example.fr")
    assert attempt(client, other.username, PASSWORD).status_code == 302


def test_the_admin_login_is_rate_limited_too(client, settings):
    get_user_model().objects.create_superuser("admin", "admin@example.fr", PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "admin", "password": "faux"})
    response = client.post("/admin/login/?next=/admin/",
                           {"username": "admin", "password": PASSWORD})
    assert response.status_code == 429


def test_portal_codes_are_never_stored_in_clear(client, shared_message):
    from tests.privacy.conftest import last_code
    from tests.routing.factories import CALLER, CALLER_FR

    vm, _, _ = shared_message
    client.post("/appelant/", {"reference": vm.reference, "number": CALLER_FR})
    code = last_code(CALLER)
    row = PortalChallenge.objects.get()
    assert len(row.code_hash) == 64 and code not in row.code_hash
    assert CALLER not in row.key and vm.reference not in row.key
