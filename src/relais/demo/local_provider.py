"""The local provider: where the local phone's recordings live until Relais downloads them.

With Twilio, a recording stays on Twilio's servers and its ``RecordingUrl`` answers to
HTTP Basic auth (account SID, auth token). The local phone plays that part too: its
recordings are files under ``RELAIS_DATA_DIR/local-provider/recordings/`` (outside the
media storage, never served publicly), downloaded through
``/telephony/local/recordings/<RecordingSid>`` with the same Basic auth, so the pipeline's
fetch step works exactly as with Twilio — also after ``simulate_call`` has exited.
Part of the demo app (installed only with ``RELAIS_DEMO``); the endpoint also checks
whether the local provider is enabled (:mod:`relais.calls.providers.local`).
"""

import mimetypes
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from relais.core.media_types import CONTENT_TYPES, extension_for


class RecordingTooLarge(ValueError):
    pass


def folder() -> Path:
    path = Path(settings.DATA_DIR) / "local-provider" / "recordings"
    path.mkdir(parents=True, exist_ok=True)
    return path


def recording_url(recording_sid: str) -> str:
    """The RecordingUrl the local phone reports (like Twilio's: no extension)."""
    path = reverse("demo:local_recording", kwargs={"recording_sid": recording_sid})
    return settings.RELAIS_PUBLIC_URL + path


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


def delete_recording(recording_sid: str) -> None:
    """Delete a stored recording (erasure, retention: see :mod:`relais.privacy.provider`;
    registered with :func:`relais.calls.providers.local.register_deleter`)."""
    for path in folder().glob(f"{recording_sid}.*"):
        path.unlink(missing_ok=True)
