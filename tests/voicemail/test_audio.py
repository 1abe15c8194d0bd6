"""Decoding recordings: every format providers and browsers send, and every refusal."""

import io
import os
import struct
import time
import zlib

import av
import numpy as np
import pytest

from relais.voicemail import audio
from relais.voicemail.audio import AudioError, decode
from tests.clips import FORMATS, speak_samples, tone_samples, write_audio

TEXT = "Bonjour, je vous appelle pour un devis de plomberie à Lyon."


@pytest.fixture(scope="module")
def spoken():
    """The espeak-ng clip at its own rate, and its duration."""
    samples, sr = speak_samples(TEXT)
    return samples, sr, samples.size / sr


@pytest.fixture(scope="module")
def reference_16k(spoken, tmp_path_factory):
    """The clip as 16 kHz samples, through the lossless path."""
    samples, sr, _ = spoken
    path = write_audio(samples, sr, tmp_path_factory.mktemp("ref") / "ref.wav")
    return decode(path).samples


def _envelope(x: np.ndarray) -> np.ndarray:
    return np.maximum(audio.frame_levels_dbfs(x, 0.05), -60.0)


EXPECTED = {
    "wav": ("wav", "pcm_s16le"),
    "wav-u8": ("wav", "pcm_u8"),
    "wav-s24": ("wav", "pcm_s24le"),
    "wav-s32": ("wav", "pcm_s32le"),
    "wav-f32": ("wav", "pcm_f32le"),
    "ulaw": ("wav", "pcm_mulaw"),
    "alaw": ("wav", "pcm_alaw"),
    "mp3": ("mp3", "mp3"),
    "ogg": ("ogg", "opus"),
    "vorbis": ("ogg", "vorbis"),
    "flac": ("flac", "flac"),
    "webm": ("matroska,webm", "opus"),
    "m4a": ("mov,mp4,m4a,3gp,3g2,mj2", "aac"),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_decodes_to_16k_mono_with_its_duration(fmt, spoken, reference_16k, tmp_path):
    samples, sr, duration = spoken
    path = write_audio(samples, sr, tmp_path / f"clip.{fmt}", fmt=fmt)
    decoded = decode(path)
    container, codec = EXPECTED[fmt]
    assert decoded.source_format == container
    assert decoded.source_codec.startswith(codec)
    assert decoded.sample_rate == 16000
    assert decoded.samples.dtype == np.float32 and decoded.samples.ndim == 1
    assert decoded.duration_s == pytest.approx(duration, abs=0.1)
    assert decoded.duration_s == decoded.samples.size / 16000
    assert not decoded.truncated
    assert decoded.source_rate == (FORMATS[fmt][2] or sr)
    assert decoded.channels == FORMATS[fmt][3]
    # The speech itself came through: same loudness contour as the lossless reference.
    n = min(decoded.samples.size, reference_16k.size)
    a, b = _envelope(decoded.samples[:n]), _envelope(reference_16k[:n])
    assert np.corrcoef(a, b)[0, 1] > 0.9
    assert np.abs(decoded.samples).max() <= 1.0


def test_sources_bytes_path_and_file_objects(tmp_path, spoken):
    samples, sr, duration = spoken
    path = write_audio(samples, sr, tmp_path / "clip.mp3", fmt="mp3")
    data = path.read_bytes()
    results = [decode(data), decode(bytearray(data)), decode(str(path)), decode(path)]
    with path.open("rb") as f:
        f.read(10)
        f.seek(0)
        results.append(decode(f))
        assert not f.closed  # the caller's file stays the caller's

    class Pipe(io.RawIOBase):  # readable, not seekable: an HTTP response body
        def __init__(self):
            self.buf = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            return self.buf.readinto(b)

    results.append(decode(Pipe()))
    for decoded in results:
        assert decoded.duration_s == pytest.approx(duration, abs=0.1)
        assert np.array_equal(decoded.samples, results[0].samples)


def test_django_file_from_storage(tmp_path, spoken):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    samples, sr, duration = spoken
    data = write_audio(samples, sr, tmp_path / "clip.ogg", fmt="ogg").read_bytes()
    name = default_storage.save("recordings/test.ogg", ContentFile(data))
    with default_storage.open(name, "rb") as f:
        assert decode(f).duration_s == pytest.approx(duration, abs=0.1)


def test_streamed_webm_without_declared_duration(tmp_path, spoken):
    """A browser's MediaRecorder writes WebM without a duration: still decoded whole."""
    samples, sr, duration = spoken
    path = write_audio(samples, sr, tmp_path / "rec.webm", fmt="webm", seekable=False)
    with av.open(str(path)) as c:
        assert c.duration is None
    assert decode(path).duration_s == pytest.approx(duration, abs=0.1)


def test_stereo_is_mixed_down_not_one_channel(tmp_path):
    rate = 44100
    left = tone_samples(1.0, 440, rate=rate)
    right = tone_samples(1.0, 1200, rate=rate)
    path = tmp_path / "stereo.wav"
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=rate, layout="stereo")
        frame = av.AudioFrame.from_ndarray(np.stack([left, right]), format="fltp", layout="stereo")
        frame.sample_rate = rate
        for p in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(p)
    decoded = decode(path)
    assert decoded.channels == 2
    spectrum = np.abs(np.fft.rfft(decoded.samples))
    freqs = np.fft.rfftfreq(decoded.samples.size, 1 / 16000)
    for f in (440, 1200):
        band = (freqs > f - 20) & (freqs < f + 20)
        assert spectrum[band].max() > 0.2 * spectrum.max()


def test_truncated_download_keeps_what_it_can(tmp_path, spoken):
    samples, sr, duration = spoken
    data = write_audio(samples, sr, tmp_path / "clip.mp3", fmt="mp3").read_bytes()
    decoded = decode(data[: len(data) // 2])
    assert 0.3 * duration < decoded.duration_s < 0.7 * duration


# --- Refusals -------------------------------------------------------------------------


def _png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    raw = b"".join(b"\x00" + bytes([x * 16 % 256, 80, 160] * 16) for x in range(16))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _video_without_sound(path) -> bytes:
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(
                np.full((32, 32, 3), i * 20, np.uint8), format="rgb24"
            )
            for p in stream.encode(frame):
                out.mux(p)
        for p in stream.encode(None):
            out.mux(p)
    return path.read_bytes()


def _assert_refused(code, source, **kw):
    with pytest.raises(AudioError) as info:
        decode(source, **kw)
    err = info.value
    assert err.code == code
    assert err.message == err.message_fr and err.message_fr and err.message_en
    assert code in str(err)
    return err


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda tmp: np.random.default_rng(4).bytes(64_000), id="random-bytes"),
        pytest.param(lambda tmp: ("Bonjour, ceci est un texte. " * 400).encode(), id="text"),
        pytest.param(lambda tmp: _png(), id="png-image"),
        pytest.param(lambda tmp: b"%PDF-1.4\n" + b"0" * 4000, id="pdf"),
        pytest.param(lambda tmp: _video_without_sound(tmp / "v.mp4"), id="video-no-sound"),
    ],
)
def test_not_audio(make, tmp_path):
    err = _assert_refused("not_audio", make(tmp_path))
    assert err.message_fr == "Ce fichier n'est pas un enregistrement audio lisible."


def test_playlist_is_refused_and_never_followed(tmp_path, spoken):
    """FFmpeg may only use audio demuxers: an HLS or concat list never opens other files."""
    samples, sr, _ = spoken
    target = write_audio(samples, sr, tmp_path / "secret.wav")
    m3u8 = tmp_path / "list.m3u8"
    m3u8.write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:3,\nfile://{target}\n#EXT-X-ENDLIST\n"
    )
    concat = tmp_path / "list.ffconcat"
    concat.write_text(f"ffconcat version 1.0\nfile '{target}'\n")
    for path in (m3u8, concat):
        _assert_refused("not_audio", path)
        _assert_refused("not_audio", path.read_bytes())


def test_empty(tmp_path):
    _assert_refused("empty", b"")
    (tmp_path / "zero.wav").write_bytes(b"")
    _assert_refused("empty", tmp_path / "zero.wav")
    _assert_refused("empty", io.BytesIO(b""))
    # A valid WAV header with no samples.
    header_only = audio.to_wav_bytes(np.zeros(0, np.float32))
    assert len(header_only) == 44
    err = _assert_refused("empty", header_only)
    assert err.message_fr.startswith("L'enregistrement est vide")


def test_silence_only(tmp_path):
    rate = 8000
    rng = np.random.default_rng(1)
    digital = np.zeros(rate * 3, np.float32)
    hiss = (rng.standard_normal(rate * 3) * 10 ** (-60 / 20)).astype(np.float32)  # -60 dBFS
    clicks = digital.copy()
    clicks[[4000, 12000]] = 0.9  # two isolated clicks
    for name, x in [("digital", digital), ("hiss", hiss), ("clicks", clicks)]:
        path = write_audio(x, rate, tmp_path / f"{name}.wav", fmt="ulaw")
        err = _assert_refused("silent", path)
        assert err.message_fr == "L'enregistrement ne contient que du silence."


def test_quiet_speech_and_a_short_word_are_not_silence(tmp_path, spoken):
    samples, sr, _duration = spoken
    quiet = samples / np.abs(samples).max() * 10 ** (-30 / 20)  # peaks at -30 dBFS
    assert decode(write_audio(quiet, sr, tmp_path / "quiet.ogg", fmt="ogg")).duration_s > 1
    word = np.concatenate([np.zeros(8000, np.float32), tone_samples(0.3, 300, level=0.1)])
    assert decode(write_audio(word, 16000, tmp_path / "word.wav")).duration_s == pytest.approx(
        0.8, abs=0.01
    )


def test_too_long_from_the_declared_duration_without_decoding(tmp_path):
    """An 11-minute telephone recording is refused from its header, in a blink."""
    rate = 8000
    minute = tone_samples(60, 440, rate=rate)
    path = write_audio(np.tile(minute, 11), rate, tmp_path / "long.wav", fmt="ulaw")
    assert path.stat().st_size > 5_000_000
    started = time.perf_counter()
    err = _assert_refused("too_long", path)  # the default limit: RELAIS_MAX_AUDIO_SECONDS
    assert time.perf_counter() - started < 0.5
    assert err.details["declared"] is True
    assert err.details["seconds"] == pytest.approx(660, abs=0.5)
    assert err.details["limit"] == 600
    assert err.message_fr == "L'enregistrement annonce 11 min ; la limite est de 10 min."


def test_too_long_limit_is_a_setting(settings, tmp_path, spoken):
    samples, sr, duration = spoken  # about 3 s
    path = write_audio(samples, sr, tmp_path / "clip.mp3", fmt="mp3")
    settings.RELAIS_MAX_AUDIO_SECONDS = 1
    err = _assert_refused("too_long", path)
    assert err.details["limit"] == 1
    assert decode(path, max_seconds=10).duration_s == pytest.approx(duration, abs=0.1)
    # The tolerance: a message of the limit's length plus codec padding passes.
    settings.RELAIS_MAX_AUDIO_SECONDS = duration - 0.5
    assert decode(path).duration_s == pytest.approx(duration, abs=0.1)


def test_too_long_when_the_container_declares_nothing(tmp_path):
    """No declared duration (streamed WebM): decoding stops once past the limit."""
    rate = 48000
    x = tone_samples(30, 440, rate=rate)
    path = write_audio(x, rate, tmp_path / "stream.webm", fmt="webm", seekable=False)
    with av.open(str(path)) as c:
        assert c.duration is None
    err = _assert_refused("too_long", path, max_seconds=3)
    assert err.details["declared"] is False
    # Stopped right after limit + tolerance (4 s), not after the 30 s of the file.
    assert 4.0 < err.details["seconds"] < 4.2


def test_wav_header_lying_short(tmp_path):
    """A WAV whose RIFF sizes say 0xFFFFFFFF (streaming recorders) is measured by decoding."""
    rate = 8000
    x = tone_samples(8, 440, rate=rate)
    path = write_audio(x, rate, tmp_path / "s.wav")
    data = bytearray(path.read_bytes())
    idx = data.find(b"data")
    data[idx + 4 : idx + 8] = b"\xff\xff\xff\xff"
    data[4:8] = b"\xff\xff\xff\xff"
    assert decode(bytes(data), max_seconds=60).duration_s == pytest.approx(8, abs=0.05)
    err = _assert_refused("too_long", bytes(data), max_seconds=5)
    assert err.details["seconds"] > 5


# --- Writing ----------------------------------------------------------------------------


def test_to_wav_bytes_round_trip(reference_16k):
    wav = audio.to_wav_bytes(reference_16k)
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
    back = decode(wav).samples
    assert back.size == reference_16k.size
    assert np.max(np.abs(back - reference_16k)) < 1e-3


@pytest.mark.parametrize("fmt", ["mp3", "ogg"])
def test_encode_for_browsers(fmt, reference_16k):
    data = audio.encode(reference_16k, fmt)
    back = decode(data)
    assert back.source_format == {"mp3": "mp3", "ogg": "ogg"}[fmt]
    assert back.duration_s == pytest.approx(reference_16k.size / 16000, abs=0.05)
    assert audio.extract_content_type(fmt) in {"audio/mpeg", "audio/ogg"}
    assert audio.extract_extension(fmt) == fmt
    with pytest.raises(ValueError):
        audio.encode(reference_16k, "wma")


def test_os_error_on_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        decode(tmp_path / "nope.wav")
    with pytest.raises(TypeError):
        decode(12)
    assert os.path.exists(tmp_path)
