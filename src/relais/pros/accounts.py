"""Professional accounts: sign-up and the e-mail verification link."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
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
