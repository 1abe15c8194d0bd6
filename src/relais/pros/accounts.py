"""Professional accounts: sign-up and the e-mail verification link.

Sign-up never tells whether an address already has an account (:func:`request_account`):
the person signing up sees the same page either way, and the holder of an existing
account is emailed instead.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Professional

VERIFY_SALT = "relais.pros.verify-email"
VERIFY_MAX_AGE = timedelta(days=3)


@transaction.atomic
def sign_up(email: str, password: str) -> Professional:
    user = get_user_model().objects.create_user(username=email, email=email, password=password)
    return Professional.objects.create(user=user)


def _account_for(email: str):
    return get_user_model().objects.filter(username__iexact=email).first()


def request_account(email: str, password: str) -> None:
    """Sign-up, with the same outcome for the person asking whatever the address.

    A new address gets an account and the confirmation email (:func:`send_verification`).
    An address that already has an account gets no second one: its holder is emailed
    that someone tried (:func:`send_account_exists`). Nothing is returned, one email is
    sent either way, and the password is hashed either way (about the same time), so the
    page that follows cannot tell the two apart.
    """
    email = email.strip().lower()
    existing = _account_for(email)
    if existing is None:
        try:
            professional = sign_up(email, password)
        except IntegrityError:  # the same address, signed up at the same moment
            existing = _account_for(email)
            if existing is None:
                raise
        else:
            send_verification(professional)
            return
    make_password(password)  # the time creating the account would have taken
    send_account_exists(existing)


def login_url() -> str:
    return settings.RELAIS_PUBLIC_URL + reverse("pros:login")


def password_reset_url() -> str:
    return settings.RELAIS_PUBLIC_URL + reverse("pros:password-reset")


def password_reset_email_context() -> dict:
    return {"public_url": settings.RELAIS_PUBLIC_URL,
            "days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)}


def send_account_exists(user) -> None:
    """Tell an account's holder that someone tried to sign up with their address."""
    body = _(
        "Bonjour,\n\n"
        "Quelqu'un (vous, peut-être) a demandé à créer un compte professionnel Relais avec "
        "cette adresse e-mail. Un compte existe déjà pour cette adresse : aucun nouveau "
        "compte n'a été créé.\n\n"
        "Si c'était vous, connectez-vous avec votre mot de passe :\n\n%(url)s\n\n"
        "Si vous l'avez oublié, choisissez-en un nouveau :\n\n%(reset)s\n\n"
        "Si ce n'était pas vous, ignorez ce message : votre compte n'a pas changé.\n\n"
        "— Relais"
    ) % {"url": login_url(), "reset": password_reset_url()}
    send_mail(_("Votre compte Relais existe déjà"), body, settings.DEFAULT_FROM_EMAIL,
              [user.email or user.username])


def verification_token(professional: Professional) -> str:
    return signing.dumps({"p": professional.pk, "e": professional.user.email}, salt=VERIFY_SALT)


def verification_url(professional: Professional) -> str:
    path = reverse("pros:verify", args=[verification_token(professional)])
    return settings.RELAIS_PUBLIC_URL + path


def send_verification(professional: Professional) -> None:
    url = verification_url(professional)
    days = VERIFY_MAX_AGE.days
    body = _(
        "Bonjour,\n\n"
        "Pour confirmer votre adresse e-mail sur Relais, ouvrez ce lien "
        "(valable %(days)d jours) :\n\n%(url)s\n\n"
        "Si vous n'avez pas créé de compte, ignorez ce message.\n\n— Relais"
    ) % {"url": url, "days": days}
    send_mail(_("Confirmez votre adresse e-mail"), body, settings.DEFAULT_FROM_EMAIL,
              [professional.user.email])


class VerificationError(ValueError):
    pass


def verify(token: str) -> Professional:
    """Check a verification link; marks the address verified. VerificationError otherwise."""
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=VERIFY_MAX_AGE)
    except signing.SignatureExpired:
        raise VerificationError(_("Ce lien a expiré : demandez-en un nouveau.")) from None
    except signing.BadSignature:
        raise VerificationError(_("Ce lien n'est pas valide.")) from None
    professional = Professional.objects.select_related("user").filter(pk=data.get("p")).first()
    if professional is None or professional.user.email != data.get("e"):
        raise VerificationError(_("Ce lien n'est pas valide."))
    if professional.email_verified_at is None:
        professional.email_verified_at = timezone.now()
        professional.save(update_fields=["email_verified_at"])
    return professional
