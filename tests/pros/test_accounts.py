import html
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django.utils import timezone

from relais.core.models import OutboxMessage
from relais.directory.models import Establishment
from relais.pros import accounts
from relais.pros.models import Listing, Professional
from tests.factories import row, run_import, write_stock

pytestmark = pytest.mark.django_db
PASSWORD = "une-phrase-de-passe-solide"


@pytest.fixture(autouse=True)
def _outbox(settings):
    """The embedded default: the development outbox (pytest-django would use locmem)."""
    settings.EMAIL_BACKEND = "relais.core.outbox.OutboxEmailBackend"


def sign_up(client, email="artisan@example.org", log_in=True):
    """Sign up (which never logs in: it cannot say whether the account is new), then log
    in with the new account."""
    response = client.post("/pro/inscription/", {"email": email, "password1": PASSWORD,
                                                 "password2": PASSWORD})
    if log_in:
        client.post("/pro/connexion/", {"username": email, "password": PASSWORD})
    return response


def text(response) -> str:
    return html.unescape(response.content.decode())


def link_in(body: str) -> str:
    return re.search(r"https?://\S+/pro/verification/\S+/", body).group(0)


def test_sign_up_sends_a_verification_link_that_verifies(client):
    response = sign_up(client)
    assert response.status_code == 302
    message = OutboxMessage.objects.get(to="artisan@example.org")
    url = link_in(message.body)
    pro = Professional.objects.get(user__email="artisan@example.org")
    assert not pro.email_verified
    response = client.get(url[url.index("/pro/"):])
    assert response.status_code == 302
    pro.refresh_from_db()
    assert pro.email_verified


def test_verification_link_tampered_or_expired_is_refused(client, settings):
    sign_up(client)
    url = link_in(OutboxMessage.objects.get().body)
    path = url[url.index("/pro/"):]
    assert client.get(path[:-3] + "xx/").status_code == 400
    pro = Professional.objects.get()
    forged = signing.dumps({"p": pro.pk, "e": pro.user.email}, salt="another-purpose")
    assert client.get(f"/pro/verification/{forged}/").status_code == 400
    expired = accounts.VERIFY_MAX_AGE
    accounts.VERIFY_MAX_AGE = timezone.timedelta(seconds=-1)
    try:
        response = client.get(path)
        assert response.status_code == 400 and "expiré" in text(response)
    finally:
        accounts.VERIFY_MAX_AGE = expired
    pro.refresh_from_db()
    assert not pro.email_verified


def test_sign_up_rejects_weak_passwords(client):
    weak = client.post("/pro/inscription/", {"email": "b@example.org", "password1": "123",
                                             "password2": "123"})
    assert weak.status_code == 200 and not get_user_model().objects.filter(
        username="b@example.org").exists()


_CSRF_INPUT = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')


def _csp(value: str) -> str:
    """A Content-Security-Policy with its directives in one order (django-csp's varies)."""
    return "; ".join(sorted(d.strip() for d in value.split(";")))


def _cookie(name: str, morsel) -> tuple:
    """A cookie as a visitor gets it; the messages cookie by what it says (its signature
    holds the second it was written: two answers a second apart differ there only)."""
    if name != "messages" or not morsel.value:
        return name, morsel.OutputString()
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.http import HttpRequest

    said = [(m.level, m.message) for m in CookieStorage(HttpRequest())._decode(morsel.value)]
    return name, morsel.OutputString().replace(morsel.value, "…"), said


def _as_seen(response) -> tuple:
    """All a visitor gets back (status, headers, cookies, body), CSRF tokens blanked, and
    the times (never_cache's Expires, the messages cookie's signature) set aside."""
    cookies = sorted(_cookie(name, morsel) for name, morsel in response.cookies.items()
                     if name != "csrftoken")
    headers = sorted((k, _csp(v) if k.lower() == "content-security-policy" else
                      "(the second it was sent)" if k.lower() == "expires" else v)
                     for k, v in response.items() if k.lower() != "set-cookie")
    return (response.status_code, headers, cookies,
            _CSRF_INPUT.sub(r"\1…\2", response.content.decode()))


def _sign_up_as_a_visitor(client_class, email, password=PASSWORD) -> list[tuple]:
    """A new visitor opens the sign-up page, submits it and follows where it leads."""
    visitor = client_class()
    seen = [_as_seen(visitor.get("/pro/inscription/"))]
    response = visitor.post("/pro/inscription/", {"email": email, "password1": password,
                                                  "password2": password})
    seen.append(_as_seen(response))
    assert response.status_code == 302
    seen.append(_as_seen(visitor.get(response["Location"])))
    assert "_auth_user_id" not in visitor.session  # never logged in by signing up
    return seen


def test_sign_up_says_nothing_about_an_existing_account(client):
    """A new address and one that already has an account give byte-identical answers
    (CSRF tokens aside); the holder of the existing account is emailed instead, and no
    second account is created."""
    new = _sign_up_as_a_visitor(client.__class__, "artisan@example.org")
    assert get_user_model().objects.filter(username="artisan@example.org").count() == 1
    (confirmation,) = OutboxMessage.objects.filter(to="artisan@example.org")
    assert "/pro/verification/" in confirmation.body
    OutboxMessage.objects.all().delete()

    existing = _sign_up_as_a_visitor(client.__class__, "Artisan@Example.org",
                                     "un-autre-mot-de-passe-solide")
    assert existing == new
    assert ("messages", ) == tuple(cookie[0] for cookie in new[1][2])  # the notice, identical
    assert "Un e-mail vient d'être envoyé à artisan@example.org" in html.unescape(new[2][3])
    assert "existe" not in html.unescape(new[2][3])
    assert get_user_model().objects.filter(username__iexact="artisan@example.org").count() == 1
    assert Professional.objects.count() == 1
    (notice,) = OutboxMessage.objects.all()
    assert notice.to == "artisan@example.org"
    assert "existe déjà" in notice.subject and "aucun nouveau compte" in notice.body
    assert "/pro/connexion/" in notice.body and "/pro/verification/" not in notice.body
    assert "/pro/mot-de-passe/" in notice.body  # or choose a new password
    # The account is unchanged: its password still opens it, the other one does not.
    other = client.post("/pro/connexion/", {"username": "artisan@example.org",
                                            "password": "un-autre-mot-de-passe-solide"})
    assert other.status_code == 200 and "_auth_user_id" not in client.session
    login = client.post("/pro/connexion/", {"username": "artisan@example.org",
                                            "password": PASSWORD})
    assert login.status_code == 302 and "_auth_user_id" in client.session


def test_a_forgotten_password_is_replaced_through_an_emailed_link(client, settings):
    settings.RELAIS_PUBLIC_URL = "https://annuaire.example"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "evil.example"]  # a lax proxy
    sign_up(client, log_in=False)
    OutboxMessage.objects.all().delete()
    assert "/pro/mot-de-passe/" in text(client.get("/pro/connexion/"))
    unknown = client.post("/pro/mot-de-passe/", {"email": "personne@example.org"})
    known = client.post("/pro/mot-de-passe/", {"email": "Artisan@Example.org"},
                        HTTP_HOST="evil.example")  # the link never follows the Host header
    assert unknown.status_code == known.status_code == 302
    assert unknown["Location"] == known["Location"] == "/pro/mot-de-passe/envoye/"
    (message,) = OutboxMessage.objects.all()
    assert message.to == "artisan@example.org"
    url = re.search(r"https://annuaire\.example(/pro/mot-de-passe/nouveau/\S+/)",
                    message.body).group(1)
    form = client.get(url, follow=True)
    assert "Nouveau mot de passe" in text(form)
    response = client.post(form.redirect_chain[-1][0], {
        "new_password1": "un-nouveau-mot-de-passe", "new_password2": "un-nouveau-mot-de-passe"})
    assert response.status_code == 302
    assert "n'est pas valide" in text(client.get(url, follow=True))  # one use only
    assert client.post("/pro/connexion/", {"username": "artisan@example.org",
                                           "password": PASSWORD}).status_code == 200
    assert client.post("/pro/connexion/", {"username": "artisan@example.org",
                                           "password": "un-nouveau-mot-de-passe"}
                       ).status_code == 302


def test_login_logout_and_lockout(client):
    sign_up(client)
    client.logout()
    bad = client.post("/pro/connexion/", {"username": "artisan@example.org", "password": "no"})
    assert bad.status_code == 200 and "_auth_user_id" not in client.session
    ok = client.post("/pro/connexion/", {"username": "Artisan@Example.org", "password": PASSWORD})
    assert ok.status_code == 302 and ok["Location"] == "/pro/fiches/"
    assert client.post("/pro/deconnexion/").status_code == 302
    for _ in range(6):
        client.post("/pro/connexion/", {"username": "artisan@example.org", "password": "no"})
    locked = client.post("/pro/connexion/", {"username": "artisan@example.org",
                                             "password": PASSWORD})
    assert locked.status_code == 429  # django-axes


def test_verification_email_goes_out_over_real_smtp(client, smtp):
    sign_up(client, "smtp@example.org")
    smtp.stop()
    assert len(smtp.mailbox.envelopes) == 1
    assert smtp.mailbox.envelopes[0][1] == ["smtp@example.org"]
    body = smtp.mailbox.text(smtp.mailbox.messages[0])
    assert "/pro/verification/" in body


@pytest.fixture
def verified(client):
    sign_up(client)
    Professional.objects.update(email_verified_at=timezone.now())
    return Professional.objects.get()


@pytest.fixture
def plumber(tmp_path):
    run_import(write_stock(tmp_path / "stock.csv", [row("30000000000011"),
                                                    row("30000000000029")]))
    return Establishment.objects.get(siret="30000000000011")


def test_claim_needs_a_verified_email(client, plumber):
    sign_up(client)
    response = client.post("/pro/fiches/revendiquer/", {"siret": "300 000 000 00011"})
    assert "Confirmez d'abord" in text(response)
    assert not Listing.objects.exists()


def test_claim_then_admin_approval_sets_default_metiers(client, verified, plumber,
                                                         admin_client):
    response = client.post("/pro/fiches/revendiquer/", {"siret": "300 000 000 00011"})
    listing = Listing.objects.get()
    assert response.status_code == 302 and listing.status == "pending"
    assert listing.professional == verified and listing.notification_email == \
        "artisan@example.org"
    again = client.post("/pro/fiches/revendiquer/", {"siret": "30000000000011"})
    assert "déjà demandé" in text(again)
    for bad, message in (("123", "14 chiffres"), ("39999999999999", "Aucun établissement")):
        assert message in text(client.post("/pro/fiches/revendiquer/", {"siret": bad}))
    response = admin_client.post("/admin/pros/listing/", {
        "action": "approve", "_selected_action": [listing.pk]})
    assert response.status_code == 302
    listing.refresh_from_db()
    assert listing.status == "approved" and listing.approved_at is not None
    assert list(listing.metiers.values_list("slug", flat=True)) == ["plombier"]


def test_someone_else_s_claim_is_refused(client, verified, plumber, django_user_model):
    other = django_user_model.objects.create_user("o@example.org", "o@example.org", "x")
    Listing.objects.create(establishment=plumber, professional=Professional.objects.create(
        user=other, email_verified_at=timezone.now()))
    response = client.post("/pro/fiches/revendiquer/", {"siret": "30000000000011"})
    assert "déjà revendiquée" in text(response)


def test_settings_validate_and_store_the_forward_number(client, verified, plumber):
    listing = Listing.objects.create(establishment=plumber, professional=verified)
    url = f"/pro/fiches/{listing.pk}/"
    data = {"forward_number": "06 12 34", "metiers": ["plombier", "chauffagiste"],
            "service_radius_km": "30", "notification_email": "devis@example.org",
            "notify": "instant"}
    response = client.post(url, data)
    assert response.status_code == 200
    assert "vérifiez les chiffres" in text(response)
    for bad, message in (("+44 20 7946 0958", "numéro français"), ("bonjour", "numéro"),
                         ("08 99 12 34 56", "surtaxés")):
        page = text(client.post(url, {**data, "forward_number": bad}))
        assert message in page, bad
    assert client.post(url, {**data, "service_radius_km": "5000"}).status_code == 200
    listing.refresh_from_db()
    assert listing.forward_number == ""
    response = client.post(url, {**data, "forward_number": "06 12 34 56 78",
                                 "shared_paused": "on"})
    assert response.status_code == 302
    listing.refresh_from_db()
    assert listing.forward_number == "+33612345678" and listing.shared_paused
    assert set(listing.metiers.values_list("slug", flat=True)) == {"plombier", "chauffagiste"}
    assert listing.service_radius_km == 30
    assert "06 12 34 56 78" in text(client.get(url))


def test_settings_refuse_a_tracking_number_as_forward_number(client, verified, plumber):
    """Calls forwarded to a tracking number come back to Relais: a loop. Whatever its
    format, and whoever it is assigned to (this listing, another, nobody yet)."""
    from relais.calls import numbers

    listing = Listing.objects.create(establishment=plumber, professional=verified,
                                     status=Listing.Status.APPROVED,
                                     forward_number="+33612345678")
    numbers.add_numbers(["+33199000001", "+33199000002", "+33199000003", "+33199000004"])
    numbers.assign("+33199000001", listing)
    numbers.release("+33199000004")  # given back to the provider: no longer rings Relais
    other = Listing.objects.create(
        establishment=Establishment.objects.get(siret="30000000000029"),
        professional=Professional.objects.create(user=get_user_model().objects.create_user(
            "o@example.org", "o@example.org", "x")), status=Listing.Status.APPROVED)
    numbers.assign("+33199000002", other)
    url = f"/pro/fiches/{listing.pk}/"
    data = {"metiers": ["plombier"], "service_radius_km": "30",
            "notification_email": "devis@example.org", "notify": "instant"}
    for tracking in ("+33199000001", "01 99 00 00 01", "0199000001", "+33 1 99 00 00 02",
                     "01.99.00.00.02", "0033199000003", "+33 (0)1 99 00 00 03"):
        response = client.post(url, {**data, "forward_number": tracking})
        assert response.status_code == 200, tracking
        assert "numéro de suivi Relais" in text(response), tracking
    listing.refresh_from_db()
    assert listing.forward_number == "+33612345678"  # unchanged
    for fine, e164 in (("06 11 22 33 44", "+33611223344"), ("01 99 00 00 04", "+33199000004")):
        response = client.post(url, {**data, "forward_number": fine})
        assert response.status_code == 302, fine
        listing.refresh_from_db()
        assert listing.forward_number == e164


def test_the_operator_cannot_set_a_tracking_number_either(verified, plumber, admin_client):
    from relais.calls import numbers

    listing = Listing.objects.create(establishment=plumber, professional=verified,
                                     status=Listing.Status.APPROVED)
    numbers.add_numbers(["+33199000001"])
    url = f"/admin/pros/listing/{listing.pk}/change/"
    data = {"establishment": plumber.pk, "professional": verified.pk, "status": "approved",
            "service_radius_km": "30", "notify": "instant", "notification_email": "",
            "forward_number": "01 99 00 00 01"}
    page = text(admin_client.post(url, data))
    assert "numéro de suivi Relais" in page
    assert admin_client.post(url, {**data, "forward_number": "06 11 22 33 44"}
                             ).status_code == 302
    listing.refresh_from_db()
    assert listing.forward_number == "+33611223344"


def test_settings_of_another_professional_s_listing_are_not_reachable(
        client, verified, plumber, django_user_model):
    other = django_user_model.objects.create_user("o@example.org", "o@example.org", "x")
    listing = Listing.objects.create(establishment=plumber, professional=Professional.objects
                                     .create(user=other))
    assert client.get(f"/pro/fiches/{listing.pk}/").status_code == 404
