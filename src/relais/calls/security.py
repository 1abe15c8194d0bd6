"""Webhook security: the signature (asked of the providers), parameter validation.

Every provider request is signed; :mod:`relais.calls.providers` says whether an active
provider signed it (Twilio's signature, checked against ``RELAIS_PUBLIC_URL`` + the
request's path and query string, never the Host header). Outside demo mode
(``RELAIS_DEMO``) the local phone's public placeholder credentials are never trusted: a
signature made with the public token is refused, and the system check
``relais.calls.E001`` stops every management command until real ones are set.
"""

import functools
import logging
import re

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from relais.core import phones

from . import providers

logger = logging.getLogger(__name__)

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


def twilio_webhook(view):
    """POST only, CSRF-exempt (signed instead), signature checked, BadRequest → 400."""

    @csrf_exempt
    @require_POST
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not providers.webhook_is_valid(request):
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
    if len(value) > 500 or not providers.recording_url_allowed(value):
        raise BadRequest(f"{name} is not a URL of the provider")
    return value
