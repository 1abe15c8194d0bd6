"""The local provider: where the local phone's recordings live until Relais downloads them.

With Twilio, a recording stays on Twilio's servers and its ``RecordingUrl`` answers to
HTTP Basic auth (account SID, auth token). The local phone plays that part too: its
recordings are files under ``RELAIS_DATA_DIR/local-provider/recordings/`` (outside the
media storage, never served publicly), downloaded through
``/telephony/local/recordings/<RecordingSid>`` with the same Basic auth, so the pipeline's
fetch step works exactly as with Twilio — also after ``simulate_call`` has exited.
Demo mode only (``RELAIS_DEMO``): elsewhere its URL is not routed at all (see
:mod:`relais.calls.urls` and :func:`relais.calls.security.local_provider_enabled`).
"""

import mimetypes
from pathlib import Path

from django.conf import settings
from django.urls import reverse

EXTENSIONS = {
    "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav", "audio/vnd.wave": ".wav",
    "audio/mpeg": ".mp3", "audio/ogg": ".ogg", "audio/webm": ".webm", "video/webm": ".webm",
    "audio/mp4": ".m4a", "audio/x-m4a": ".m4a", "audio/flac": ".flac",
}
CONTENT_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
                 ".webm": "audio/webm", ".m4a": "audio/mp4", ".flac": "audio/flac",
                 ".bin": "application/octet-stream"}


class RecordingTooLarge(ValueError):
    pass


def folder() -> Path:
    path = Path(settings.DATA_DIR) / "local-provider" / "recordings"
    path.mkdir(parents=True, exist_ok=True)
    return path


def recording_url(recording_sid: str) -> str:
    """The RecordingUrl the local phone reports (like Twilio's: no extension)."""
    path = reverse("calls:local_recording", kwargs={"recording_sid": recording_sid})
    return settings.RELAIS_PUBLIC_URL + path


def extension_for(content_type: str, filename: str = "") -> str:
    base = (content_type or "").split(";")[0].strip().lower()
    if base in EXTENSIONS:
        return EXTENSIONS[base]
    guessed = Path(filename).suffix.lower()
    return guessed if guessed in CONTENT_TYPES else ".bin"


def store_recording(recording_sid: str, data, content_type: str, filename: str = "") -> Path:
    """Keep a recording (bytes or a readable stream) for later download."""
    limit = settings.RELAIS_RECORDING_MAX_BYTES
    for old in folder().glob(f"{recording_sid}.*"):
        old.unlink()
    path = folder() / f"{recording_sid}{extension_for(content_type, filename)}"
    tmp = path.with_suffix(".part")
    size = 0
    with tmp.open("wb") as out:
        chunks = [data] if isinstance(data, bytes) else iter(lambda: data.read(65536), b"")
        for chunk in chunks:
            size += len(chunk)
            if size > limit:
                out.close()
                tmp.unlink()
                raise RecordingTooLarge(f"recording larger than {limit} bytes")
            out.write(chunk)
    tmp.replace(path)
    return path


def find_recording(recording_sid: str) -> Path | None:
    for path in folder().glob(f"{recording_sid}.*"):
        if path.suffix != ".part":
            return path
    return None


def open_recording(recording_sid: str):
    """(binary file, content type) of a stored recording, or None."""
    path = find_recording(recording_sid)
    if path is None:
        return None
    content_type = CONTENT_TYPES.get(path.suffix) or (
        mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    )
    return path.open("rb"), content_type
