"""Sending SMS: the development outbox or Twilio's API (``RELAIS_SMS_BACKEND``).

- ``outbox`` (the embedded default): the message is stored as an
  :class:`~relais.core.models.OutboxMessage` of kind SMS and shown on the demo outbox
  page, next to the emails. Nothing leaves the machine.
- ``twilio``: sent with the official helper library,
  ``Client(TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN).messages.create(to=…, from_=…, body=…)``,
  from ``RELAIS_SMS_FROM`` unless the caller names the sender (e.g. the tracking number
  a caller dialled, so they recognise it).

Callers use :func:`send_sms`; it raises :class:`SMSError` when the provider refuses,
:class:`OptedOut` (an SMSError) when the number answered STOP (:func:`opt_out`; every
send checks it first), and :class:`TooLong` when the text would take more than
:data:`MAX_SEGMENTS` segments. The number of segments (GSM-7: 160 characters alone, 153
per part; anything outside GSM-7 makes the whole text UCS-2: 70, 67 per part) is
computed by :func:`segments`, logged and kept in the outbox.
"""

import logging

from django.conf import settings

logger = logging.getLogger(__name__)

MAX_SEGMENTS = 6  # ~900 GSM characters: an SMS longer than that is a bug, not a message

# The GSM 03.38 default alphabet, and its extension table (2 septets each).
GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

# Words that end (STOP…) or restart (START…) SMS to a number, as Twilio and French
# operators understand them; compared in capitals, without accents or punctuation.
STOP_WORDS = frozenset({"STOP", "ARRET", "ARRETER", "STOPALL", "UNSUBSCRIBE", "CANCEL",
                        "END", "QUIT", "DESABONNER", "DESINSCRIRE"})
START_WORDS = frozenset({"START", "UNSTOP", "REPRENDRE"})


class SMSError(Exception):
    """The SMS could not be handed to the provider."""


class OptedOut(SMSError):
    """The number answered STOP: nothing is sent to it."""


class TooLong(SMSError):
    """The text would take more than MAX_SEGMENTS segments."""


def encoding(body: str) -> str:
    return "GSM-7" if all(c in GSM7 or c in GSM7_EXTENDED for c in body) else "UCS-2"


def segments(body: str) -> int:
    """How many SMS segments ``body`` takes (what the operator bills)."""
    if encoding(body) == "GSM-7":
        units = sum(2 if c in GSM7_EXTENDED else 1 for c in body)
        single, part = 160, 153
    else:  # UTF-16 code units: characters beyond the BMP (emoji) take two
        units = len(body.encode("utf-16-le")) // 2
        single, part = 70, 67
    if units <= single:
        return 1
    return -(-units // part)


def keyword(body: str) -> str:
    """``body`` as a keyword: trimmed, capitals, accents and final punctuation dropped."""
    import unicodedata

    word = unicodedata.normalize("NFKD", (body or "").strip().upper())
    word = "".join(c for c in word if not unicodedata.combining(c))
    return word.strip(" .!")


def opted_out(e164: str) -> bool:
    from relais.core.models import SmsOptOut

    return SmsOptOut.objects.filter(e164=e164).exists()


def opt_out(e164: str, word: str = "STOP") -> None:
    from relais.core.models import SmsOptOut

    SmsOptOut.objects.get_or_create(e164=e164, defaults={"keyword": word[:16]})
    logger.info("sms: a number opted out (%s)", word)


def opt_in(e164: str) -> bool:
    from relais.core.models import SmsOptOut

    return bool(SmsOptOut.objects.filter(e164=e164).delete()[0])


class OutboxBackend:
    def send(self, to: str, body: str, sender: str = "", parts: int = 1) -> str:
        from relais.core.models import OutboxMessage

        message = OutboxMessage.objects.create(kind=OutboxMessage.Kind.SMS, to=to, body=body,
                                               sender=sender, segments=parts)
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

    def send(self, to: str, body: str, sender: str = "", parts: int = 1) -> str:
        import requests
        from twilio.base.exceptions import TwilioException

        try:
            message = self.client.messages.create(to=to, from_=sender or settings.RELAIS_SMS_FROM,
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


def send_sms(to: str, body: str, backend=None, sender: str = "") -> str:
    """Send one SMS to an E.164 number (from ``sender``, default ``RELAIS_SMS_FROM``);
    returns the provider's message id. Refused: OptedOut, TooLong, empty text."""
    if not body.strip():
        raise SMSError("empty SMS")
    parts = segments(body)
    if parts > MAX_SEGMENTS:
        raise TooLong(f"SMS of {parts} segments (at most {MAX_SEGMENTS})")
    if opted_out(to):
        raise OptedOut("this number answered STOP")
    sid = (backend or get_backend()).send(to, body, sender, parts)
    logger.info("sms %s sent: %d segment(s), %s", sid, parts, encoding(body))
    return sid
