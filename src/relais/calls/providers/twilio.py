"""Twilio (or any provider speaking its API): the production provider, always active.

- Webhooks: signed with ``TWILIO_AUTH_TOKEN`` — never the local phone's public
  placeholder (:data:`~.local.LOCAL_AUTH_TOKEN`), which only the local provider accepts,
  in demo mode.
- Recordings: fetched over https (port 443) from a host of ``RELAIS_RECORDING_HOSTS``
  (Twilio's API host; a leading dot matches subdomains), with the account's Basic auth.
  A Twilio recording URL (``*.twilio.com``) without an extension gets ``.wav`` appended,
  Twilio's documented way to ask for the WAV rendition.
- Deletion: through Twilio's REST API with the official client (404: already gone).
- Configuration: outside demo mode both credentials must be set and differ from the
  placeholders written in the source (system check ``relais.calls.E001``).
"""

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from .base import CallFailed, OutboundCall, Provider, account_credentials, origin, signature_ok
from .local import LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN


def client():
    """Twilio's REST client for the account (imported on use: it is a large package)."""
    from twilio.rest import Client

    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)


def is_twilio_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == "twilio.com" or host.endswith(".twilio.com")


class Twilio(Provider):
    name = "twilio"

    def enabled(self) -> bool:
        return True

    def configuration_errors(self) -> list[str]:
        if settings.RELAIS_DEMO:  # the local phone runs with the public placeholders
            return []
        problems = []
        sid, token = settings.TWILIO_ACCOUNT_SID or "", settings.TWILIO_AUTH_TOKEN or ""
        if not sid or sid == LOCAL_ACCOUNT_SID:
            problems.append("TWILIO_ACCOUNT_SID is missing or the local phone's placeholder")
        if not token or token == LOCAL_AUTH_TOKEN:
            problems.append("TWILIO_AUTH_TOKEN is missing or the local phone's public token")
        return problems

    def validate_webhook(self, request) -> bool:
        token = settings.TWILIO_AUTH_TOKEN or ""
        if token == LOCAL_AUTH_TOKEN:  # public: whoever signs with it is not Twilio
            return False
        return signature_ok(request, token)

    def recording_url_allowed(self, url: str) -> bool:
        where = origin(url)
        if where is None:
            return False
        scheme, host, port = where
        if scheme != "https" or port != 443:
            return False
        for allowed in settings.RELAIS_RECORDING_HOSTS:
            allowed = allowed.lower()
            if host == allowed or (allowed.startswith(".") and host.endswith(allowed)):
                return True
        return False

    def download_request(self, url: str) -> tuple[str, tuple[str, str] | None]:
        parts = urlsplit(url)
        last = parts.path.rsplit("/", 1)[-1]
        if is_twilio_url(url) and "." not in last:
            url = urlunsplit(parts._replace(path=parts.path + ".wav"))
        return url, account_credentials()

    def holds_recording(self, url: str) -> bool:
        return is_twilio_url(url)

    def delete_recording(self, recording_sid: str) -> None:
        from twilio.base.exceptions import TwilioRestException

        try:
            client().recordings(recording_sid).delete()
        except TwilioRestException as exc:
            if exc.status != 404:  # 404: already gone
                raise

    def place_call(self, call: OutboundCall) -> str:
        """Twilio's REST API: ``calls.create`` with the TwiML URL and status callback."""
        import requests
        from twilio.base.exceptions import TwilioException

        try:
            created = client().calls.create(
                to=call.to, from_=call.from_, url=call.url, method="POST",
                status_callback=call.status_callback, status_callback_method="POST",
                status_callback_event=["completed"], timeout=call.timeout,
            )
        except (TwilioException, requests.RequestException, OSError) as exc:
            # Refused by Twilio, or never reached (network, DNS, timeout): a clear failure,
            # never a call-back left "calling".
            raise CallFailed(str(exc)) from exc
        return created.sid


PROVIDER = Twilio()
