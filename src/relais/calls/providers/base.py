"""The interface every telephony provider implements, and what the providers share.

Both providers speak the TwiML dialect: webhooks signed as Twilio signs them
(``X-Twilio-Signature``: the base64 HMAC-SHA1, keyed with the account's auth token, of
the URL the provider requested followed by the sorted POST parameters), recordings
downloaded with HTTP Basic auth (account SID, auth token). Behind a reverse proxy the URL
Relais sees is not the one the provider requested, so a signature is always checked
against ``RELAIS_PUBLIC_URL`` (the origin the provider is configured with) plus the
request's path and query string, never against the Host header.
"""

import abc
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from twilio.request_validator import RequestValidator


class Provider(abc.ABC):
    """A telephony provider: what Relais must know about it, and nothing else.

    ``name`` identifies it (in :data:`relais.calls.providers.PROVIDERS`, and in the
    deletion queue's names ``<name>-recording:RE…``). Every method reads the settings
    when called (tests and ``override_settings`` change them).
    """

    name: str = ""

    @abc.abstractmethod
    def enabled(self) -> bool:
        """Whether this provider is in use in this configuration."""

    @abc.abstractmethod
    def configuration_errors(self) -> list[str]:
        """What is wrong with its settings ([] when nothing): system check E001."""

    @abc.abstractmethod
    def validate_webhook(self, request) -> bool:
        """Whether this provider signed the webhook request."""

    @abc.abstractmethod
    def recording_url_allowed(self, url: str) -> bool:
        """Whether a recording may be fetched from this URL (credentials go with it)."""

    @abc.abstractmethod
    def download_request(self, url: str) -> tuple[str, tuple[str, str] | None]:
        """(URL to fetch, HTTP Basic credentials) to download one of its recordings."""

    @abc.abstractmethod
    def holds_recording(self, url: str) -> bool:
        """Whether the recording at this URL is kept by this provider (to delete it)."""

    @abc.abstractmethod
    def delete_recording(self, recording_sid: str) -> None:
        """Delete its copy of a recording; raises when it should be retried later."""

    def __repr__(self) -> str:
        return f"<provider {self.name}>"

    # --- Outbound calls (call-backs through Relais, relais.callbacks) ---------------------

    def place_call(self, call: "OutboundCall") -> str:
        """Place an outbound call; returns its CallSid. Raises :class:`CallFailed`."""
        raise CallFailed(f"{self.name} cannot place outbound calls")


# --- Shared by the providers ------------------------------------------------------------

def public_url(request) -> str:
    """The URL the provider requested (and signed): public origin + path + query."""
    return settings.RELAIS_PUBLIC_URL + request.get_full_path()


def signature_ok(request, token: str) -> bool:
    """Whether ``X-Twilio-Signature`` is the request's signature with this token."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not token:  # never an empty token: anybody computes that HMAC
        return False
    return RequestValidator(token).validate(public_url(request), request.POST, signature)


def account_credentials() -> tuple[str, str]:
    """The account's HTTP Basic credentials (account SID, auth token)."""
    return settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN


# Characters a recording URL never needs and URL parsers disagree about.
_UNSAFE_URL = re.compile(r"[\x00-\x20\x7f\\]")
DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL, or None for anything odd.

    Odd: another scheme, no host, credentials in the URL, a bad port, characters that
    parsers read differently (backslash, spaces, controls).
    """
    if not isinstance(url, str) or _UNSAFE_URL.search(url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme not in DEFAULT_PORTS or not host or "@" in parts.netloc:
        return None
    return parts.scheme, host, port or DEFAULT_PORTS[parts.scheme]


# --- Outbound calls ---------------------------------------------------------------------

class CallFailed(RuntimeError):
    """The provider refused or could not place an outbound call."""


@dataclass(frozen=True)
class OutboundCall:
    """What Relais asks a provider to call: ``to`` with ``from_`` shown as caller ID; the
    provider requests ``url`` (TwiML) when answered and posts ``status_callback`` when the
    call ends (both absolute URLs on ``RELAIS_PUBLIC_URL``, signed like every webhook)."""

    to: str
    from_: str
    url: str
    status_callback: str
    timeout: int = 25
