"""Webhook security: Twilio signatures, parameter validation, the local provider's auth.

Every provider request is signed: ``X-Twilio-Signature`` is the base64 HMAC-SHA1, keyed
with the account's auth token, of the URL the provider requested followed by the sorted
POST parameters (``RequestValidator.compute_signature``). Behind a reverse proxy the URL
Relais sees is not the one the provider requested, so validation always rebuilds it from
``RELAIS_PUBLIC_URL`` (the origin the provider is configured with) plus the request's
path and query string, never from the Host header.

Outside demo mode (``RELAIS_DEMO``) the local phone's public placeholder credentials
(:data:`LOCAL_ACCOUNT_SID`, :data:`LOCAL_AUTH_TOKEN`, the settings' defaults) are never
trusted: a signature made with the public token is refused, and the system check
``relais.calls.E001`` stops every management command until real ones are set.
"""

import base64
import binascii
import functools
import hmac
import logging
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from relais.core import phones

logger = logging.getLogger(__name__)

# The credentials the local phone uses (the settings' defaults): no real Twilio account,
# and a token anybody can read in the source. Trusted in demo mode only.
LOCAL_ACCOUNT_SID = "AC" + "0" * 32
LOCAL_AUTH_TOKEN = "relais-local-phone-token"  # noqa: S105 - public on purpose

CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
RECORDING_SID = re.compile(r"^RE[0-9a-fA-F]{32}$")
ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
DIAL_STATUSES = {"completed", "answered", "busy", "no-answer", "failed", "canceled"}
CALL_STATUSES = {"queued", "ringing", "in-progress", "completed", "busy", "failed",
                 "no-answer", "canceled"}
RECORDING_STATUSES = {"in-progress", "completed", "absent", "failed"}
DIGITS = re.compile(r"^[0-9*#]{0,20}$")


class BadRequest(ValueError):
    """A webhook parameter is missing or malformed: 400, nothing changes."""


def public_url(request) -> str:
    """The URL the provider requested (and signed): public origin + path + query."""
    return settings.RELAIS_PUBLIC_URL + request.get_full_path()


def credentials_problems() -> list[str]:
    """What is wrong with the provider credentials for this mode ([] when nothing).

    In demo mode anything goes (the local phone uses the public placeholders); otherwise
    both must be set and differ from the placeholders written in the source.
    """
    if settings.RELAIS_DEMO:
        return []
    problems = []
    sid, token = settings.TWILIO_ACCOUNT_SID or "", settings.TWILIO_AUTH_TOKEN or ""
    if not sid or sid == LOCAL_ACCOUNT_SID:
        problems.append("TWILIO_ACCOUNT_SID is missing or the local phone's placeholder")
    if not token or token == LOCAL_AUTH_TOKEN:
        problems.append("TWILIO_AUTH_TOKEN is missing or the local phone's public token")
    return problems


def signing_token() -> str | None:
    """The token webhook signatures are checked with, or None: nothing is trusted.

    Never an empty token (anybody can compute that HMAC), never the public placeholder
    outside demo mode.
    """
    token = settings.TWILIO_AUTH_TOKEN or ""
    if not token or (token == LOCAL_AUTH_TOKEN and not settings.RELAIS_DEMO):
        return None
    return token


def signature_is_valid(request) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    token = signing_token()
    if not signature or token is None:
        return False
    validator = RequestValidator(token)
    return validator.validate(public_url(request), request.POST, signature)


def twilio_webhook(view):
    """POST only, CSRF-exempt (signed instead), signature checked, BadRequest → 400."""

    @csrf_exempt
    @require_POST
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not signature_is_valid(request):
            logger.warning("telephony webhook %s refused: missing or invalid signature",
                           request.path)
            return HttpResponseForbidden("invalid signature", content_type="text/plain")
        try:
            account = request.POST.get("AccountSid", "")
            if account != settings.TWILIO_ACCOUNT_SID:
                raise BadRequest("AccountSid is not this account")
            return view(request, *args, **kwargs)
        except BadRequest as exc:
            logger.warning("telephony webhook %s: bad request: %s", request.path, exc)
            return HttpResponse(f"bad request: {exc}", status=400, content_type="text/plain")

    return wrapper


# --- Parameters -------------------------------------------------------------------------

def sid(params, name: str, pattern: re.Pattern = CALL_SID, required: bool = True) -> str:
    value = params.get(name, "")
    if not value and not required:
        return ""
    if not pattern.match(value):
        raise BadRequest(f"{name} is not a well-formed SID")
    return value


def caller(params, name: str = "From") -> str:
    """The caller's E.164 number, or "" when withheld. Anything else is a bad request."""
    value = params.get(name, "")
    if phones.is_withheld(value):
        return ""
    if not value.startswith("+"):
        raise BadRequest(f"{name} is not an E.164 number")
    try:
        return phones.to_e164(value, region=None)
    except phones.NumberError as exc:
        raise BadRequest(f"{name} is not a phone number") from exc


def called(params, name: str = "To") -> str:
    value = params.get(name, "")
    if not value.startswith("+"):
        raise BadRequest(f"{name} is not an E.164 number")
    try:
        return phones.to_e164(value, region=None)
    except phones.NumberError as exc:
        raise BadRequest(f"{name} is not a phone number") from exc


def choice(params, name: str, allowed: set[str], required: bool = True) -> str:
    value = params.get(name, "")
    if not value and not required:
        return ""
    if value not in allowed:
        raise BadRequest(f"{name} has an unexpected value")
    return value


def seconds(params, name: str, required: bool = True) -> int | None:
    value = params.get(name, "")
    if value == "" and not required:
        return None
    if not value.isdigit() or len(value) > 7:
        raise BadRequest(f"{name} is not a number of seconds")
    return int(value)


def digits(params, name: str = "Digits") -> str:
    value = params.get(name, "")
    if value == "hangup":
        return value
    if not DIGITS.match(value):
        raise BadRequest(f"{name} is not a key sequence")
    return value


def recording_url(params, name: str = "RecordingUrl") -> str:
    value = params.get(name, "")
    if len(value) > 500 or not recording_host_allowed(value):
        raise BadRequest(f"{name} is not a URL of the provider")
    return value


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


def recording_host_allowed(url: str) -> bool:
    """Whether a recording may be fetched from this URL (credentials go with it).

    Only from the provider: https on port 443 to a host of ``RELAIS_RECORDING_HOSTS``
    (Twilio's API host; a leading dot matches subdomains). In demo mode also from the
    local provider, that is RELAIS_PUBLIC_URL's exact origin (scheme, host and port) —
    never another port or scheme of that host, never plain http elsewhere.
    """
    where = origin(url)
    if where is None:
        return False
    if settings.RELAIS_DEMO and where == origin(settings.RELAIS_PUBLIC_URL):
        return True
    scheme, host, port = where
    if scheme != "https" or port != 443:
        return False
    for allowed in settings.RELAIS_RECORDING_HOSTS:
        allowed = allowed.lower()
        if host == allowed or (allowed.startswith(".") and host.endswith(allowed)):
            return True
    return False


# --- The local provider's HTTP Basic auth (same credentials as Twilio's REST API) ------

def basic_auth_ok(request) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return False
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(user.encode(), settings.TWILIO_ACCOUNT_SID.encode()) & (
        hmac.compare_digest(password.encode(), settings.TWILIO_AUTH_TOKEN.encode())
    )


def local_provider_enabled() -> bool:
    """The local provider (the local phone's recording host) exists in demo mode only."""
    return bool(settings.RELAIS_DEMO)
