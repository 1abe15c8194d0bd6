"""System checks for the telephony settings.

``relais.calls.E001`` runs on every management command (``migrate``, the workers,
``check``…), not only with ``--deploy``: outside demo mode, the provider credentials must
be real (each active provider's ``configuration_errors()``). The others are ``--deploy`` warnings.
"""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from . import providers
from .providers.local import LOCAL_ACCOUNT_SID


@register(Tags.security)
def telephony_credentials(app_configs, **kwargs):
    problems = providers.configuration_errors()
    if not problems:
        return []
    return [Error(
        "Demo mode is off but the telephony provider's credentials are not set ("
        + "; ".join(problems) + "): anybody could sign telephony webhooks with the "
        "token published in the source.",
        hint="Set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN from the provider's console "
             "(or RELAIS_DEMO=1 for a demonstration site with fictitious data).",
        id="relais.calls.E001",
    )]


@register(Tags.security, deploy=True)
def telephony_deployment(app_configs, **kwargs):
    problems = []
    real_account = settings.TWILIO_ACCOUNT_SID != LOCAL_ACCOUNT_SID
    if real_account and not settings.RELAIS_PUBLIC_URL.startswith("https://"):
        problems.append(Warning(
            "RELAIS_PUBLIC_URL is not https: the provider's webhooks travel in clear.",
            hint="Set RELAIS_PUBLIC_URL to the https origin the provider calls.",
            id="relais.calls.W002",
        ))
    if settings.RELAIS_DEMO:
        problems.append(Warning(
            "RELAIS_DEMO is on: the local phone and its recording host are served, and the "
            "outbox pages show every email and SMS code to anybody.",
            hint="Leave RELAIS_DEMO unset in production.",
            id="relais.calls.W003",
        ))
    return problems
