"""The pipeline's first step: download the provider's recording into Relais' storage.

``fetch_step(voicemail)`` downloads ``voicemail.recording_url`` into ``voicemail.audio``
on Django's default storage (local files under ``RELAIS_DATA_DIR/media`` — never served
by a URL — or a private S3 bucket). The provider the URL belongs to
(:func:`relais.calls.providers.for_recording_url`) says what to fetch and with which
credentials (``download_request``): for Twilio, the URL + ``.wav`` (its WAV rendition)
with HTTP Basic auth (``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``); for the local
provider, the URL as given with the same credentials.

- Idempotent: a message whose audio is already in the storage is not downloaded again.
- Transient failures raise, and the pipeline retries with exponential backoff (the fetch
  step has 60 attempts, about two days): 404 (Twilio answers 404 until the recording is
  ready), 401/403 (credentials being fixed), 5xx, timeouts (``RELAIS_RECORDING_FETCH_TIMEOUT``
  seconds to connect and between bytes), connection errors.
- Absurd downloads are refused for good (:class:`~relais.voicemail.pipeline.Stop`, status
  ``rejected``): more than ``RELAIS_RECORDING_MAX_BYTES`` (50 MB), or a URL that is not an
  active provider's (:func:`~relais.calls.providers.recording_url_allowed`: https to
  Twilio's API host, or in demo mode the local provider's exact origin).
- Redirects are never followed blindly: each hop (at most ``RELAIS_RECORDING_MAX_REDIRECTS``)
  must pass the same rule, or the message is rejected without any request to it; the
  credentials go only to the first URL's origin.
- Whether the bytes are audio, empty, or too long is the next step's business (normalise).
"""

import logging
import tempfile
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from relais.calls import providers
from relais.calls.providers import origin
from relais.core.media_types import extension_for

from .models import Voicemail, is_text, recording_path
from .pipeline import Stop

logger = logging.getLogger(__name__)

USER_AGENT = "Relais recording fetcher"
REDIRECTS = {301, 302, 303, 307, 308}


class DownloadError(Exception):
    """A download that may work later (the pipeline retries)."""


def fetch_step(voicemail: Voicemail) -> None:
    if is_text(voicemail):
        return  # a written request: no recording
    if voicemail.audio and default_storage.exists(voicemail.audio.name):
        return  # already downloaded
    if not voicemail.recording_url:
        raise Stop(Voicemail.Status.FAILED, "Aucune adresse d'enregistrement pour ce message.")
    provider = providers.for_recording_url(voicemail.recording_url)
    if provider is None:
        raise Stop(Voicemail.Status.REJECTED,
                   "Adresse d'enregistrement refusée : ce n'est pas une adresse du "
                   "fournisseur de téléphonie.")
    url, credentials = provider.download_request(voicemail.recording_url)
    limit = settings.RELAIS_RECORDING_MAX_BYTES
    try:
        with _open(url, credentials) as response:
            if response.status_code != 200:
                raise DownloadError(f"HTTP {response.status_code} from {_host(response.url)}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise Stop(Voicemail.Status.REJECTED,
                           f"Enregistrement refusé : {int(declared)} octets (plus de {limit}).")
            content_type = response.headers.get("Content-Type", "")
            with tempfile.TemporaryFile() as tmp:
                size = 0
                for chunk in response.iter_content(chunk_size=65536):
                    size += len(chunk)
                    if size > limit:
                        raise Stop(Voicemail.Status.REJECTED,
                                   f"Enregistrement refusé : plus de {limit} octets.")
                    tmp.write(chunk)
                tmp.seek(0)
                _store(voicemail, tmp, content_type, url)
    except requests.RequestException as exc:
        # Timeouts, refused connections, resets: retried. The URL may carry nothing
        # secret, but keep the error short and without credentials.
        raise DownloadError(f"{type(exc).__name__} while downloading from {_host(url)}") from exc


def _open(url: str, credentials: tuple[str, str] | None) -> requests.Response:
    """GET the recording, following the provider's redirects by hand.

    Every hop must pass :func:`relais.calls.providers.recording_url_allowed` before any
    request is made to it (a refused hop stops the message: rejected); the provider's
    credentials are sent only to the first URL's origin; at most
    ``RELAIS_RECORDING_MAX_REDIRECTS`` hops.
    """
    timeout = settings.RELAIS_RECORDING_FETCH_TIMEOUT
    first = origin(url)
    for _hop in range(settings.RELAIS_RECORDING_MAX_REDIRECTS + 1):
        response = requests.get(
            url, auth=credentials if origin(url) == first else None,
            timeout=(timeout, timeout), stream=True, allow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )
        if response.status_code not in REDIRECTS:
            return response
        response.close()
        target = urljoin(url, response.headers.get("Location", ""))
        if not response.headers.get("Location") or not providers.recording_url_allowed(target):
            raise Stop(Voicemail.Status.REJECTED,
                       f"Enregistrement refusé : {_origin_text(url)} redirige vers une adresse "
                       f"qui n'est pas celle du fournisseur ({_origin_text(target)}).")
        url = target
    raise Stop(Voicemail.Status.REJECTED,
               f"Enregistrement refusé : plus de {settings.RELAIS_RECORDING_MAX_REDIRECTS} "
               "redirections.")


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1]


def _origin_text(url: str) -> str:
    """scheme://host[:port] of a URL, for messages (never its path or credentials)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "adresse illisible"
    return f"{parts.scheme}://{_host(url)}"[:200]


def _store(voicemail: Voicemail, handle, content_type: str, url: str) -> None:
    filename = "recording" + extension_for(content_type, urlsplit(url).path)
    name = default_storage.save(recording_path(voicemail, filename), File(handle))
    # Only the audio column: consent or status may be changing at the same moment.
    Voicemail.objects.filter(pk=voicemail.pk).update(audio=name)
    voicemail.audio.name = name
    logger.info("message %s: recording stored (%s)", voicemail.reference, name)
