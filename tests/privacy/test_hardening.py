"""Login rate limiting on the professional and admin logins: django-axes per (account,
address), and relais.core.login_limits per network and per account name."""

import re

import pytest
from django.core.cache import cache

from relais.privacy.models import PortalChallenge
from tests import factories as f
from tests.factories import CALLER, CALLER_FR
from tests.helpers import last_code

pytestmark = pytest.mark.django_db

PASSWORD = "motdepasse-solide-42"
LOGIN = "/pro/connexion/"


def account(email):
    """A professional who logs in with their e-mail address (it is the username)."""
    return f.professional(email, username=email).user


def attempt(client, username, password, address="127.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password},
                       REMOTE_ADDR=address)


@pytest.fixture
def counters():
    cache.clear()
    yield
    cache.clear()


def page(response, username) -> str:
    """The answer without the CSRF token and the e-mail address shown back."""
    html = response.content.decode().replace(username, "ADDRESS")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_the_pro_login_locks_after_exactly_the_failure_limit(client, settings, counters):
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


def test_password_spraying_from_one_network_is_stopped(client, settings, counters):
    """One machine tries one password on many accounts, one address of its /24 each time:
    axes (per account and address) never triggers; the network's cap does."""
    settings.RELAIS_LOGIN_MAX_FAILURES_PER_NETWORK = 8
    accounts = [account(f"artisan-{i}@example.fr") for i in range(10)]
    answers = [attempt(client, pro.username, "Printemps2026!", f"10.20.30.{i + 1}").status_code
               for i, pro in enumerate(accounts[:9])]
    assert answers == [200] * 8 + [429]
    # Past the cap even the right password of another account is refused, from any
    # address of the network, and an account that does not exist reads the same.
    locked = attempt(client, accounts[9].username, PASSWORD, "10.20.30.250")
    ghost = attempt(client, "personne@example.fr", PASSWORD, "10.20.30.251")
    assert locked.status_code == ghost.status_code == 429
    assert "_auth_user_id" not in client.session
    assert page(locked, accounts[9].username) == page(ghost, "personne@example.fr")
    assert "Trop de tentatives de connexion" in locked.content.decode()
    # Another network logs in.
    assert attempt(client, accounts[9].username, PASSWORD, "10.20.31.1").status_code == 302


def test_spraying_from_one_ipv6_network_is_stopped_too(client, settings, counters):
    settings.RELAIS_LOGIN_MAX_FAILURES_PER_NETWORK = 2
    a, b, c = (account(f"v6-{i}@example.fr") for i in range(3))
    assert attempt(client, a.username, "faux", "2001:db8:5:6::1").status_code == 200
    assert attempt(client, b.username, "faux", "2001:db8:5:6:ffff::2").status_code == 200
    assert attempt(client, c.username, PASSWORD, "2001:db8:5:6::3").status_code == 429
    assert attempt(client, c.username, PASSWORD, "2001:db8:5:7::3").status_code == 302


def test_one_account_tried_from_many_networks_hits_its_own_cap(client, settings, counters):
    settings.RELAIS_LOGIN_MAX_FAILURES_PER_ACCOUNT = 5
    pro = account("cible@example.fr")
    for name in (pro.username, "inconnu@example.fr"):  # an account, and no account
        answers = [attempt(client, name, "faux", f"198.{51 + i}.100.7").status_code
                   for i in range(5)]
        assert answers == [200] * 5
        # Sixth failure budget gone: refused from a fresh network, even the right password.
        last = attempt(client, name, PASSWORD, "203.0.113.77")
        assert last.status_code == 429
        if name == pro.username:
            known = page(last, name)
        else:
            assert page(last, name) == known
    assert "_auth_user_id" not in client.session
    # Other accounts are not affected.
    other = account("voisin@example.fr")
    assert attempt(client, other.username, PASSWORD, "203.0.113.77").status_code == 302


def test_failed_logins_read_the_same_for_existing_and_unknown_accounts(client, counters):
    pro = account("existe@example.fr")
    known = attempt(client, pro.username, "faux", "192.0.2.10")
    unknown = attempt(client, "existe-pas@example.fr", "faux", "192.0.2.11")
    assert known.status_code == unknown.status_code == 200
    assert page(known, pro.username) == page(unknown, "existe-pas@example.fr")


def test_the_admin_login_is_limited_per_network_too(client, settings, counters):
    settings.RELAIS_LOGIN_MAX_FAILURES_PER_NETWORK = 3
    f.superuser("root", PASSWORD)
    for i, name in enumerate(["admin", "administrator", "operator"]):
        client.post("/admin/login/", {"username": name, "password": "faux"},
                    REMOTE_ADDR=f"10.9.9.{i + 1}")
    response = client.post("/admin/login/?next=/admin/",
                           {"username": "root", "password": PASSWORD}, REMOTE_ADDR="10.9.9.99")
    assert response.status_code == 429


def test_the_admin_login_is_rate_limited_too(client, settings):
    f.superuser("admin", PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "admin", "password": "faux"})
    response = client.post("/admin/login/?next=/admin/",
                           {"username": "admin", "password": PASSWORD})
    assert response.status_code == 429


def test_portal_codes_are_never_stored_in_clear(client, shared_message):
    vm, _, _ = shared_message
    client.post("/appelant/", {"reference": vm.reference, "number": CALLER_FR})
    code = last_code(CALLER)
    row = PortalChallenge.objects.get()
    assert len(row.code_hash) == 64 and code not in row.code_hash
    assert CALLER not in row.key and vm.reference not in row.key
