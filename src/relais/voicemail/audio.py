"""Voicemail audio: decode anything a provider or a browser sends, make bleeped extracts.

Plain functions, no database. Everything goes through PyAV (FFmpeg's libraries ship in
its wheel; no system ffmpeg is used).

``decode(source)`` turns a recording into 16 kHz mono float32 samples — the input
Whisper expects — or raises :class:`AudioError` with a machine code:

=============  ===========================================================================
``empty``      0 bytes, or a container holding no audio samples.
``not_audio``  Not a recording Relais accepts: random bytes, text, an image, a video
               without sound, a playlist, or a container format outside
               :data:`ACCEPTED_FORMATS` (FFmpeg is only ever allowed to use those
               demuxers, so playlists or concat files can never make it open other
               files or URLs).
``silent``     Nothing louder than the silence threshold (below).
``too_long``   Longer than ``RELAIS_MAX_AUDIO_SECONDS`` (+ :data:`DURATION_TOLERANCE_S`).
               Checked first from the duration the container declares (no decoding),
               then while decoding: decoding stops as soon as the limit is passed, so
               a container that under-states its duration costs at most the limit's
               worth of decoding.
=============  ===========================================================================

Silence threshold: the decoded signal is cut into 20 ms frames; a frame is *active*
when its RMS level is above :data:`SILENCE_DBFS` (-45 dBFS, i.e. RMS 0.0056 of full
scale). A recording with less than :data:`MIN_ACTIVE_SECONDS` (0.2 s) of active frames
is ``silent``. Digital silence, line hiss and a far-away hum stay below it (a
telephone line's noise floor is around -60 dBFS); quiet speech (-35…-20 dBFS) and
even a single short word are above it. One isolated click does not count: it fills
one 20 ms frame at most.

A file that breaks off in the middle (a truncated download) keeps what could be
decoded and sets ``Decoded.truncated``; nothing decoded at all is ``not_audio``.

Extracts: :func:`make_extract` takes the first ``RELAIS_EXTRACT_SECONDS`` of a message,
replaces each interval to hide (word timestamps of redacted words, widened by a
margin) with a 1 kHz tone, and encodes it as MP3 (:data:`EXTRACT_FORMAT`): every
browser and mail client plays MP3, including Safari/iOS, which plays Ogg/Opus only
in recent versions.
"""

from __future__ import annotations

import io
import logging
import math
import os
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import av.error
import numpy as np

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
"""Rate of decoded samples (Whisper's input rate)."""

ACCEPTED_FORMATS = (
    "wav", "w64", "au", "aiff", "caf",  # PCM (8/16/24/32-bit, float), μ-law, A-law…
    "mp3", "ogg", "flac", "aac", "amr",
    "matroska",  # WebM / Matroska (browser MediaRecorder: Opus)
    "mov",  # MP4 / M4A / 3GP (AAC; Safari's MediaRecorder)
)
"""FFmpeg demuxers Relais lets FFmpeg use (its ``format_whitelist``)."""

SILENCE_DBFS = -45.0
SILENCE_FRAME_S = 0.020
MIN_ACTIVE_SECONDS = 0.2
DURATION_TOLERANCE_S = 1.0

EXTRACT_FORMAT = "mp3"
EXTRACT_FORMATS = {
    # fmt: (container, codec, bit rate, extension, content type)
    "mp3": ("mp3", "libmp3lame", 32_000, "mp3", "audio/mpeg"),
    "ogg": ("ogg", "libopus", 24_000, "ogg", "audio/ogg"),
}
BLEEP_FREQUENCY_HZ = 1000.0
BLEEP_LEVEL = 0.25  # peak amplitude of the tone (-12 dBFS)
BLEEP_MARGIN_S = 0.3  # added before and after each interval: Whisper word times are approximate
BLEEP_RAMP_S = 0.005  # tone fade in/out, avoids clicks
EXTRACT_FADE_OUT_S = 0.05


class AudioError(ValueError):
    """A recording Relais refuses. ``code`` is machine-readable, messages are for people."""

    CODES = ("empty", "not_audio", "silent", "too_long")

    def __init__(self, code: str, message_fr: str, message_en: str, **details):
        assert code in self.CODES, code
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message = message_fr  # the interface is French
        self.message_fr = message_fr
        self.message_en = message_en
        self.details = details


def _empty(what: str = "") -> AudioError:
    return AudioError(
        "empty",
        "L'enregistrement est vide." + (f" ({what})" if what else ""),
        "The recording is empty." + (f" ({what})" if what else ""),
    )


def _not_audio(reason: str) -> AudioError:
    return AudioError(
        "not_audio",
        "Ce fichier n'est pas un enregistrement audio lisible.",
        f"This file is not a readable audio recording ({reason}).",
        reason=reason,
    )


def _too_long(seconds: float, limit: float, *, declared: bool) -> AudioError:
    how_fr = "annonce" if declared else "dépasse"
    how_en = "declares" if declared else "exceeds"
    return AudioError(
        "too_long",
        f"L'enregistrement {how_fr} {_fr_duration(seconds)} ; "
        f"la limite est de {_fr_duration(limit)}.",
        f"The recording {how_en} {seconds:.0f} s; the limit is {limit:.0f} s.",
        seconds=seconds,
        limit=limit,
        declared=declared,
    )


def _fr_duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    if not minutes:
        return f"{secs} s"
    return f"{minutes} min {secs:02d} s" if secs else f"{minutes} min"


@dataclass(frozen=True)
class Decoded:
    """A decoded recording: ``samples`` are float32, mono, 16 kHz, in [-1, 1]."""

    samples: np.ndarray
    duration_s: float
    source_format: str  # FFmpeg demuxer, e.g. "wav", "mp3", "ogg", "matroska,webm"
    source_codec: str  # e.g. "pcm_mulaw", "mp3float", "opus", "aac"
    source_rate: int
    channels: int
    truncated: bool = False  # the file broke off; samples hold what could be decoded

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE


Source = bytes | bytearray | memoryview | str | os.PathLike | BinaryIO


def decode(source: Source, *, max_seconds: float | None = None) -> Decoded:
    """Decode a recording (bytes, a path, or a binary file object) to 16 kHz mono.

    Raises :class:`AudioError` (``empty``, ``not_audio``, ``silent``, ``too_long``).
    ``max_seconds`` defaults to the ``RELAIS_MAX_AUDIO_SECONDS`` setting.
    """
    if max_seconds is None:
        from django.conf import settings

        max_seconds = float(settings.RELAIS_MAX_AUDIO_SECONDS)
    fileobj, close = _open_source(source)
    try:
        decoded = _decode(fileobj, float(max_seconds))
    finally:
        if close:
            fileobj.close()
    if not active_seconds(decoded.samples) >= MIN_ACTIVE_SECONDS:
        raise AudioError(
            "silent",
            "L'enregistrement ne contient que du silence.",
            "The recording contains only silence.",
            duration_s=decoded.duration_s,
        )
    return decoded


def _open_source(source: Source) -> tuple[BinaryIO, bool]:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if not data:
            raise _empty("0 octet")
        return io.BytesIO(data), True
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.stat().st_size == 0:
            raise _empty("0 octet")
        # Opened by Python, so FFmpeg never resolves a name or a URL itself.
        return path.open("rb"), True
    if hasattr(source, "read"):
        if not (hasattr(source, "seekable") and source.seekable()):
            return _open_source(source.read())
        start = source.tell()
        first = source.read(1)
        source.seek(start)
        if not first:
            raise _empty("0 octet")
        return source, False
    raise TypeError(f"decode() takes bytes, a path or a binary file, not {type(source)!r}")


def _declared_duration(container, stream) -> float | None:
    candidates = []
    if stream.duration and stream.time_base:
        candidates.append(float(stream.duration * stream.time_base))
    if container.duration and container.duration > 0:
        candidates.append(container.duration / av.time_base)
    return max(candidates) if candidates else None


def _decode(fileobj: BinaryIO, max_seconds: float) -> Decoded:
    try:
        container = av.open(
            fileobj, mode="r", options={"format_whitelist": ",".join(ACCEPTED_FORMATS)}
        )
    except av.error.ArgumentError:
        raise _not_audio("format not accepted") from None
    except (av.FFmpegError, EOFError, OSError, ValueError) as exc:
        raise _not_audio(f"unrecognised data: {exc.__class__.__name__}") from None
    with container:
        if not container.streams.audio:
            raise _not_audio("no audio stream")
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        limit = max_seconds + DURATION_TOLERANCE_S
        declared = _declared_duration(container, stream)
        if declared is not None and declared > limit:
            raise _too_long(declared, max_seconds, declared=True)

        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks: list[np.ndarray] = []
        count = 0
        max_samples = int(limit * SAMPLE_RATE)
        truncated = False

        def take(frames) -> None:
            nonlocal count
            for out in frames:
                arr = out.to_ndarray().reshape(-1)
                chunks.append(arr)
                count += arr.shape[0]

        try:
            for frame in container.decode(stream):
                frame.pts = None  # the resampler only needs the samples
                take(resampler.resample(frame))
                if count > max_samples:
                    raise _too_long(count / SAMPLE_RATE, max_seconds, declared=False)
            take(resampler.resample(None))
        except AudioError:
            raise
        except (av.FFmpegError, EOFError, OSError, ValueError) as exc:
            if not count:
                raise _not_audio(f"undecodable audio: {exc.__class__.__name__}") from None
            logger.warning("audio truncated after %.2f s: %s", count / SAMPLE_RATE, exc)
            truncated = True
        source = {
            "source_format": container.format.name,
            "source_codec": ctx.name,
            "source_rate": int(ctx.sample_rate or stream.rate or 0),
            "channels": int(ctx.layout.nb_channels if ctx.layout else ctx.channels),
        }
    if not count:
        raise _empty("aucun échantillon")
    samples = np.concatenate(chunks).astype(np.float32, copy=False)
    if count > max_samples:
        raise _too_long(count / SAMPLE_RATE, max_seconds, declared=False)
    samples = np.clip(np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
    return Decoded(
        samples=samples, duration_s=count / SAMPLE_RATE, truncated=truncated, **source
    )


def frame_levels_dbfs(samples: np.ndarray, frame_s: float = SILENCE_FRAME_S) -> np.ndarray:
    """RMS level in dBFS of each ``frame_s`` frame (16 kHz samples)."""
    size = max(1, round(frame_s * SAMPLE_RATE))
    if samples.size == 0:
        return np.zeros(0)
    padded = np.zeros(math.ceil(samples.size / size) * size, dtype=np.float64)
    padded[: samples.size] = samples
    rms = np.sqrt(np.mean(padded.reshape(-1, size) ** 2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-10))


def active_seconds(samples: np.ndarray) -> float:
    """Seconds of 20 ms frames louder than :data:`SILENCE_DBFS`."""
    return float(np.count_nonzero(frame_levels_dbfs(samples) > SILENCE_DBFS) * SILENCE_FRAME_S)


# --- Writing -------------------------------------------------------------------------


def to_wav_bytes(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """16-bit PCM mono WAV of float samples in [-1, 1]."""
    pcm = (np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buf.getvalue()


def encode(samples: np.ndarray, fmt: str = EXTRACT_FORMAT, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Encode float mono samples as ``"mp3"`` (MPEG audio) or ``"ogg"`` (Ogg/Opus)."""
    try:
        container_fmt, codec, bit_rate, _, _ = EXTRACT_FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown extract format {fmt!r}") from None
    samples = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container_fmt) as out:
        stream = out.add_stream(codec, rate=sample_rate, layout="mono")
        stream.bit_rate = bit_rate
        step = 4096
        for start in range(0, samples.size, step):
            frame = av.AudioFrame.from_ndarray(
                samples[None, start : start + step], format="flt", layout="mono"
            )
            frame.sample_rate = sample_rate
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def extract_content_type(fmt: str = EXTRACT_FORMAT) -> str:
    return EXTRACT_FORMATS[fmt][4]


def extract_extension(fmt: str = EXTRACT_FORMAT) -> str:
    return EXTRACT_FORMATS[fmt][3]


# --- Bleeped extract -----------------------------------------------------------------


def merge_intervals(
    intervals: Iterable[Sequence[float]], *, margin_s: float = 0.0, duration_s: float | None = None
) -> list[tuple[float, float]]:
    """Widen each (start, end) by ``margin_s``, clip to [0, duration_s], merge overlaps.

    Raises ValueError for a non-finite bound or an end before its start: an interval
    to hide that cannot be understood must never be silently dropped.
    """
    widened = []
    for interval in intervals:
        start, end = (float(v) for v in interval)
        if not (math.isfinite(start) and math.isfinite(end)) or end < start:
            raise ValueError(f"invalid interval to bleep: {interval!r}")
        start, end = max(0.0, start - margin_s), end + margin_s
        if duration_s is not None:
            end = min(end, duration_s)
        if end > start:
            widened.append((start, end))
    widened.sort()
    merged: list[tuple[float, float]] = []
    for start, end in widened:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def bleep(
    samples: np.ndarray,
    intervals: Iterable[Sequence[float]],
    *,
    margin_s: float = BLEEP_MARGIN_S,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """A copy of ``samples`` where each interval (± margin) is a 1 kHz tone only.

    The original signal is removed from the whole widened interval; the tone fades in
    and out over 5 ms at its edges.
    """
    out = np.array(samples, dtype=np.float32, copy=True)
    duration = out.size / sample_rate
    ramp = int(BLEEP_RAMP_S * sample_rate)
    for start, end in merge_intervals(intervals, margin_s=margin_s, duration_s=duration):
        i0 = math.floor(start * sample_rate)
        i1 = min(out.size, math.ceil(end * sample_rate))
        n = i1 - i0
        if n <= 0:
            continue
        t = np.arange(n) / sample_rate
        tone = BLEEP_LEVEL * np.sin(2 * np.pi * BLEEP_FREQUENCY_HZ * t)
        r = min(ramp, n // 2)
        if r:
            fade = 0.5 - 0.5 * np.cos(np.pi * np.arange(r) / r)
            tone[:r] *= fade
            tone[n - r :] *= fade[::-1]
        out[i0:i1] = tone
    return out


def make_extract(
    samples: np.ndarray,
    bleep_intervals: Iterable[Sequence[float]],
    max_seconds: float | None = None,
    *,
    margin_s: float = BLEEP_MARGIN_S,
    fmt: str = EXTRACT_FORMAT,
) -> bytes:
    """The first ``max_seconds`` of a message, bleeped, encoded (MP3 by default).

    ``samples``: 16 kHz mono float32 (``Decoded.samples``). ``bleep_intervals``:
    ``[(start_s, end_s), …]`` in the message's timeline (word timestamps of the
    redacted words); each is widened by ``margin_s`` on both sides. ``max_seconds``
    defaults to ``RELAIS_EXTRACT_SECONDS``.
    """
    if max_seconds is None:
        from django.conf import settings

        max_seconds = float(settings.RELAIS_EXTRACT_SECONDS)
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if samples.size == 0:
        raise ValueError("no samples to extract")
    if not max_seconds > 0:
        raise ValueError("max_seconds must be positive")
    bleeped = bleep(samples, bleep_intervals, margin_s=margin_s)
    limit = int(max_seconds * SAMPLE_RATE)
    if bleeped.size > limit:
        bleeped = bleeped[:limit]
        fade = min(bleeped.size, int(EXTRACT_FADE_OUT_S * SAMPLE_RATE))
        bleeped[bleeped.size - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return encode(bleeped, fmt)
