"""System checks for caller rights (``relais check --deploy``)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def portal_sms(app_configs, **kwargs):
    if settings.RELAIS_SMS_BACKEND == "outbox" and not settings.RELAIS_DEMO:
        return [Warning(
            "RELAIS_SMS_BACKEND is 'outbox': callers never receive the code that opens "
            "their portal (/appelant/), so they cannot see, withdraw or erase their message.",
            hint="Set RELAIS_SMS_BACKEND=twilio and RELAIS_SMS_FROM (see docs/privacy.md).",
            id="relais.privacy.W001",
        )]
    return []
