"""System checks for the telephony settings (``relais check --deploy``)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

from .security import LOCAL_ACCOUNT_SID

LOCAL_TOKEN = "relais-local-phone-token"  # noqa: S105 - settings' public default


@register(Tags.security, deploy=True)
def telephony_credentials(app_configs, **kwargs):
    problems = []
    if not settings.DEBUG and settings.TWILIO_AUTH_TOKEN == LOCAL_TOKEN:
        problems.append(Warning(
            "TWILIO_AUTH_TOKEN is the public default of the local phone: anybody can sign "
            "telephony webhooks.",
            hint="Set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN from the provider's console.",
            id="relais.calls.W001",
        ))
    real_account = settings.TWILIO_ACCOUNT_SID != LOCAL_ACCOUNT_SID
    if real_account and not settings.RELAIS_PUBLIC_URL.startswith("https://"):
        problems.append(Warning(
            "RELAIS_PUBLIC_URL is not https: the provider's webhooks travel in clear.",
            hint="Set RELAIS_PUBLIC_URL to the https origin the provider calls.",
            id="relais.calls.W002",
        ))
    return problems
