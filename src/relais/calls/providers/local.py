"""The local provider: the local phone's side of the demo (``RELAIS_DEMO`` only).

The local phone (:mod:`relais.demo.phone`) plays the provider against Relais' real
webhooks; its recordings are kept by the demo app (:mod:`relais.demo.local_provider`,
served by ``/telephony/local/recordings/<RecordingSid>``). This module holds the rules
the lower layers apply to it, and nothing of the demo app (which sits above calls):

- Enabled in demo mode only.
- Webhooks: signed like Twilio's with ``TWILIO_AUTH_TOKEN`` — by default the public
  placeholder :data:`LOCAL_AUTH_TOKEN`, which nobody else may use.
- Recordings: fetched from ``RELAIS_PUBLIC_URL``'s exact origin (scheme, host and port),
  as given, with the account's Basic auth; its HTTP side checks that same Basic auth
  (:meth:`Local.basic_auth_ok`).
- Deletion: by the function the demo app registers (:func:`register_deleter`, from its
  ``AppConfig.ready()``); without the demo app nothing holds such recordings.
"""

import base64
import binascii
import contextlib
import contextvars
import hmac
import logging
import secrets
from collections.abc import Callable

from django.conf import settings

from .base import OutboundCall, Provider, account_credentials, origin, signature_ok

logger = logging.getLogger(__name__)

# The credentials the local phone uses (the settings' defaults): no real Twilio account,
# and a token anybody can read in the source. Trusted in demo mode only.
LOCAL_ACCOUNT_SID = "AC" + "0" * 32
LOCAL_AUTH_TOKEN = "relais-local-phone-token"  # noqa: S105 - public on purpose

RECORDINGS_PATH = "/telephony/local/recordings/"

# Filled by the demo app: delete(recording_sid) of the recordings it keeps.
_deleter: Callable[[str], None] | None = None


# Filled by the demo app: dial(call, call_sid) plays an outbound call's legs.
_dialer: Callable[[OutboundCall, str], None] | None = None
_manual: contextvars.ContextVar[bool] = contextvars.ContextVar("local_manual", default=False)
# Outbound calls placed while dialing manually, for whoever plays them (latest last).
_placed: list[tuple[OutboundCall, str]] = []


def register_dialer(dial: Callable[[OutboundCall, str], None]) -> None:
    """Let the demo app play the local provider's outbound calls (both legs)."""
    global _dialer
    _dialer = dial


@contextlib.contextmanager
def manual_dialing():
    """Outbound calls placed inside are not played: :func:`take_placed` returns them."""
    token = _manual.set(True)
    try:
        yield
    finally:
        _manual.reset(token)


def take_placed() -> list[tuple[OutboundCall, str]]:
    """The outbound calls placed (and not played) since the last call, oldest first."""
    placed = list(_placed)
    _placed.clear()
    return placed


def register_deleter(delete_recording: Callable[[str], None]) -> None:
    """Let the app keeping the local provider's recordings (the demo) delete them."""
    global _deleter
    _deleter = delete_recording


class Local(Provider):
    name = "local"

    def enabled(self) -> bool:
        return bool(settings.RELAIS_DEMO)

    def configuration_errors(self) -> list[str]:
        return []  # the public placeholders are its credentials

    def validate_webhook(self, request) -> bool:
        return self.enabled() and signature_ok(request, settings.TWILIO_AUTH_TOKEN or "")

    def recording_url_allowed(self, url: str) -> bool:
        where = origin(url)
        return (self.enabled() and where is not None
                and where == origin(settings.RELAIS_PUBLIC_URL))

    def download_request(self, url: str) -> tuple[str, tuple[str, str] | None]:
        return url, account_credentials()

    def holds_recording(self, url: str) -> bool:
        return RECORDINGS_PATH in url

    def delete_recording(self, recording_sid: str) -> None:
        if _deleter is None:  # the demo app is not installed: no local provider here
            logger.warning("local-recording:%s: no local provider installed, not deleted "
                           "there", recording_sid)
            return
        _deleter(recording_sid)

    def basic_auth_ok(self, request) -> bool:
        """Whether the request carries the account's HTTP Basic credentials (its HTTP
        side answers like Twilio's REST API)."""
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return False
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, _, password = decoded.partition(":")
        sid, token = account_credentials()
        return hmac.compare_digest(user.encode(), sid.encode()) & (
            hmac.compare_digest(password.encode(), token.encode())
        )

    def place_call(self, call: OutboundCall) -> str:
        """A new CallSid; the demo's dialer (:func:`register_dialer`) plays both legs at
        once with its default outcome, unless inside :func:`manual_dialing` (the caller
        of the provider plays them itself: ``simulate_callback``, tests)."""
        call_sid = "CA" + secrets.token_hex(16)
        if _dialer is not None and not _manual.get():
            _dialer(call, call_sid)
        else:
            _placed.append((call, call_sid))
        return call_sid


PROVIDER = Local()
