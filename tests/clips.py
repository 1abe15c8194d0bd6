"""Test helpers that make voicemail clips: espeak-ng speaks, PyAV encodes.

    speak("Bonjour, je voudrais un devis.", tmp_path / "msg.mp3", fmt="mp3")
    write_audio(tone_samples(2.0, 440), 16000, tmp_path / "tone.ogg", fmt="ogg")

No system ffmpeg: espeak-ng (Debian package, /usr/bin/espeak-ng) writes a 22.05 kHz
WAV, everything else is PyAV. Formats (``fmt``):

- ``wav`` (PCM 16-bit), ``wav-u8``, ``wav-s24``, ``wav-s32``, ``wav-f32`` (float),
- ``ulaw`` / ``alaw``: 8 kHz μ-law / A-law WAV, as telephony providers send,
- ``mp3``, ``ogg`` (Ogg/Opus), ``vorbis`` (Ogg/Vorbis, stereo), ``flac``,
- ``webm`` (WebM/Opus 48 kHz, what a browser's MediaRecorder produces),
- ``m4a`` (AAC in MP4, Safari's MediaRecorder).

``whisper_model`` (tests/conftest.py) is a session fixture with the real model; tests
using it are marked ``@pytest.mark.whisper``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import av
import numpy as np

ESPEAK = shutil.which("espeak-ng") or "/usr/bin/espeak-ng"

# fmt: (container, codec, forced sample rate or None, channels, codec options)
FORMATS = {
    "wav": ("wav", "pcm_s16le", None, 1, {}),
    "wav-u8": ("wav", "pcm_u8", None, 1, {}),
    "wav-s24": ("wav", "pcm_s24le", None, 1, {}),
    "wav-s32": ("wav", "pcm_s32le", None, 1, {}),
    "wav-f32": ("wav", "pcm_f32le", None, 1, {}),
    "ulaw": ("wav", "pcm_mulaw", 8000, 1, {}),
    "alaw": ("wav", "pcm_alaw", 8000, 1, {}),
    "mp3": ("mp3", "libmp3lame", None, 1, {}),
    "ogg": ("ogg", "libopus", 48000, 1, {}),
    "vorbis": ("ogg", "vorbis", 44100, 2, {"strict": "-2"}),  # FFmpeg's encoder: stereo only
    "flac": ("flac", "flac", None, 1, {}),
    "webm": ("webm", "libopus", 48000, 1, {}),
    "m4a": ("ipod", "aac", 44100, 1, {}),
}


def speak(
    text: str,
    path: str | Path,
    *,
    voice: str = "fr",
    fmt: str = "wav",
    speed: int | None = None,
    pad_s: float | tuple[float, float] = 0.0,
    rate: int | None = None,
) -> Path:
    """Speak ``text`` with espeak-ng into ``path`` (format ``fmt``); returns the path.

    ``speed`` is espeak's words per minute (175 by default); ``pad_s`` adds silence
    before and after (one number, or ``(before, after)``); ``rate`` forces a sample rate.
    """
    samples, sr = speak_samples(text, voice=voice, speed=speed)
    before, after = (pad_s, pad_s) if isinstance(pad_s, int | float) else pad_s
    samples = np.concatenate(
        [np.zeros(int(before * sr), np.float32), samples, np.zeros(int(after * sr), np.float32)]
    )
    return write_audio(samples, sr, path, fmt=fmt, rate=rate)


def speak_samples(text: str, *, voice: str = "fr", speed: int | None = None):
    """``(samples float32 mono, sample_rate)`` spoken by espeak-ng."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        cmd = [ESPEAK, "-v", voice, "-w", str(out)]
        if speed:
            cmd += ["-s", str(speed)]
        subprocess.run([*cmd, "--", text], check=True, capture_output=True, timeout=60)
        return read_wav(out)


def read_wav(path: str | Path):
    """``(samples float32 mono, sample_rate)`` of a 16-bit PCM WAV (stdlib only)."""
    with wave.open(str(path), "rb") as f:
        assert f.getsampwidth() == 2, "read_wav reads 16-bit PCM only"
        data = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
        data = data.reshape(-1, f.getnchannels()).mean(axis=1)
        return (data / 32768.0).astype(np.float32), f.getframerate()


def tone_samples(seconds: float, freq: float, *, rate: int = 16000, level: float = 0.3):
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_audio(
    samples: np.ndarray,
    sr: int,
    path: str | Path,
    *,
    fmt: str = "wav",
    rate: int | None = None,
    seekable: bool = True,
) -> Path:
    """Encode mono float samples (at ``sr`` Hz) to ``path`` in format ``fmt``.

    ``seekable=False`` writes through a pipe-like sink, as a browser's MediaRecorder
    or a streaming recorder does: the container then declares no duration.
    """
    path = Path(path)
    container_fmt, codec, forced_rate, channels, options = FORMATS[fmt]
    out_rate = rate or forced_rate or sr
    samples = _resample(np.asarray(samples, np.float32), sr, out_rate)
    layout = "stereo" if channels == 2 else "mono"
    sink = _Sink()
    with av.open(str(path) if seekable else sink, mode="w", format=container_fmt) as out:
        stream = out.add_stream(codec, rate=out_rate, layout=layout, options=dict(options))
        step = 1024
        for start in range(0, samples.size, step):
            chunk = np.repeat(samples[None, start : start + step], channels, axis=0)
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(chunk), format="fltp", layout=layout
            )
            frame.sample_rate = out_rate
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    if not seekable:
        path.write_bytes(bytes(sink.data))
    return path


class _Sink:
    """A write-only, non-seekable file object."""

    def __init__(self):
        self.data = bytearray()

    def write(self, chunk) -> int:
        self.data += chunk
        return len(chunk)


def _resample(samples: np.ndarray, sr: int, rate: int) -> np.ndarray:
    if sr == rate or samples.size == 0:
        return samples
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
    frame.sample_rate = sr
    parts = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(parts).astype(np.float32)

