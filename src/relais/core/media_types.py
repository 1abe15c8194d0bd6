"""File extensions and content types of the audio files Relais stores (recordings)."""

from pathlib import Path

EXTENSIONS = {
    "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav", "audio/vnd.wave": ".wav",
    "audio/mpeg": ".mp3", "audio/ogg": ".ogg", "audio/webm": ".webm", "video/webm": ".webm",
    "audio/mp4": ".m4a", "audio/x-m4a": ".m4a", "audio/flac": ".flac",
}
CONTENT_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
                 ".webm": "audio/webm", ".m4a": "audio/mp4", ".flac": "audio/flac",
                 ".bin": "application/octet-stream"}


def extension_for(content_type: str, filename: str = "") -> str:
    """The file extension of an audio content type (else the file name's, else .bin)."""
    base = (content_type or "").split(";")[0].strip().lower()
    if base in EXTENSIONS:
        return EXTENSIONS[base]
    guessed = Path(filename).suffix.lower()
    return guessed if guessed in CONTENT_TYPES else ".bin"
