"""Sending SMS: the development outbox or Twilio's API (``RELAIS_SMS_BACKEND``).

- ``outbox`` (the embedded default): the message is stored as an
  :class:`~relais.core.models.OutboxMessage` of kind SMS and shown on the demo outbox
  page, next to the emails. Nothing leaves the machine.
- ``twilio``: sent with the official helper library,
  ``Client(TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN).messages.create(to=…, from_=…, body=…)``,
  from ``RELAIS_SMS_FROM``.

Callers use :func:`send_sms`; it raises :class:`SMSError` when the provider refuses.
"""

from django.conf import settings


class SMSError(Exception):
    """The SMS could not be handed to the provider."""


class OutboxBackend:
    def send(self, to: str, body: str) -> str:
        from relais.core.models import OutboxMessage

        message = OutboxMessage.objects.create(kind=OutboxMessage.Kind.SMS, to=to, body=body)
        return f"outbox-{message.pk}"


class TwilioBackend:
    def __init__(self, client=None):
        self._client = client

    @property
    def client(self):
        if self._client is None:
            from twilio.rest import Client

            self._client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
        return self._client

    def send(self, to: str, body: str) -> str:
        import requests
        from twilio.base.exceptions import TwilioException

        try:
            message = self.client.messages.create(to=to, from_=settings.RELAIS_SMS_FROM,
                                                  body=body)
        except (TwilioException, requests.RequestException) as exc:
            raise SMSError(str(exc)) from exc
        return message.sid


def get_backend():
    name = settings.RELAIS_SMS_BACKEND
    if name == "twilio":
        return TwilioBackend()
    if name == "outbox":
        return OutboxBackend()
    raise SMSError(f"unknown SMS backend {name!r}")


def send_sms(to: str, body: str, backend=None) -> str:
    """Send one SMS to an E.164 number; returns the provider's message id."""
    return (backend or get_backend()).send(to, body)
