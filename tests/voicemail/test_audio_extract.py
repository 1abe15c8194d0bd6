"""Bleeped extracts: the hidden words are a 1 kHz tone, the rest is the message, ≤ N s."""

import numpy as np
import pytest

from relais.voicemail import audio
from relais.voicemail.audio import decode, make_extract
from tests.clips import speak

SR = 16000
TEXT = (
    "Bonjour, je m'appelle Jean Dupont, mon numéro est le zéro six douze trente-quatre "
    "cinquante-six soixante-dix-huit. Rappelez-moi vite, c'est pour une fuite d'eau."
)


@pytest.fixture(scope="module")
def message(tmp_path_factory):
    path = speak(TEXT, tmp_path_factory.mktemp("x") / "msg.wav", pad_s=(0.3, 0.0))
    decoded = decode(path)
    assert decoded.duration_s > 8
    return decoded.samples


def _tone_fraction(x: np.ndarray) -> float:
    """Share of the energy within 950–1050 Hz."""
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / SR)
    return float(spectrum[(freqs > 950) & (freqs < 1050)].sum() / spectrum.sum())


def _seg(x, start, end):
    return x[int(start * SR) : int(end * SR)]


@pytest.mark.parametrize("fmt", ["mp3", "ogg"])
def test_bleeped_ranges_hold_the_tone_and_not_the_speech(fmt, message):
    intervals = [(1.0, 1.6), (3.0, 3.2), (3.3, 3.5)]  # the last two merge (margin 0.3)
    data = make_extract(message, intervals, 6, fmt=fmt)
    extract = decode(data, max_seconds=60)
    assert extract.source_format == {"mp3": "mp3", "ogg": "ogg"}[fmt]
    x = extract.samples
    margin = audio.BLEEP_MARGIN_S
    for start, end in [(1.0 - margin, 1.6 + margin), (3.0 - margin, 3.5 + margin)]:
        inside = _seg(x, start + 0.01, end - 0.01)
        original = _seg(message, start + 0.01, end - 0.01)
        assert np.sqrt(np.mean(original**2)) > 0.01  # there was speech to hide
        assert _tone_fraction(inside) > 0.99
        assert abs(np.corrcoef(inside, original)[0, 1]) < 0.05
        # A tone at the bleep level; what is left is codec noise, not the speech.
        tone = _best_fit_tone(inside)
        assert np.abs(tone).max() == pytest.approx(audio.BLEEP_LEVEL, rel=0.1)
        residual = inside - tone
        assert np.sqrt(np.mean(residual**2)) < 0.2 * np.sqrt(np.mean(tone**2))
        assert abs(np.corrcoef(residual, original)[0, 1]) < 0.1
    # Elsewhere, the message itself (speech, not tone), sample-aligned.
    for start, end in [(0.3, 0.7), (4.0, 5.5)]:
        outside, original = _seg(x, start, end), _seg(message, start, end)
        assert _tone_fraction(outside) < 0.2
        assert np.corrcoef(outside, original)[0, 1] > 0.95


def _best_fit_tone(x: np.ndarray) -> np.ndarray:
    t = np.arange(x.size) / SR
    basis = np.stack([np.sin(2 * np.pi * 1000 * t), np.cos(2 * np.pi * 1000 * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, x, rcond=None)
    return basis @ coef


def test_extract_length_is_capped_by_the_setting(settings, message):
    settings.RELAIS_EXTRACT_SECONDS = 3
    x = decode(make_extract(message, []), max_seconds=60)
    assert x.duration_s == pytest.approx(3.0, abs=0.03)
    x = decode(make_extract(message, [], 5.5), max_seconds=60)
    assert x.duration_s == pytest.approx(5.5, abs=0.03)
    # A message shorter than the cap stays whole.
    x = decode(make_extract(message[: 2 * SR], [], 20), max_seconds=60)
    assert x.duration_s == pytest.approx(2.0, abs=0.03)


def test_interval_across_the_cut_and_beyond_it(message):
    x = decode(make_extract(message, [(3.8, 6.0), (7.0, 7.5)], 4), max_seconds=60).samples
    assert x.size == pytest.approx(4 * SR, abs=0.03 * SR)
    assert _tone_fraction(_seg(x, 3.56, 3.94)) > 0.99  # up to the fade-out at the cut
    assert _tone_fraction(_seg(x, 2.0, 3.4)) < 0.2


def test_zero_length_word_is_still_bleeped(message):
    """Whisper gives some words start == end: the margin still covers them."""
    x = decode(make_extract(message, [(2.0, 2.0)], 4), max_seconds=60).samples
    assert _tone_fraction(_seg(x, 1.76, 2.24)) > 0.99


def test_margin_is_applied_and_overridable(message):
    x = audio.bleep(message, [(2.0, 2.5)], margin_s=0.0)
    assert np.array_equal(x[: 2 * SR - 1], message[: 2 * SR - 1])
    assert _tone_fraction(_seg(x, 2.0, 2.5)) > 0.99
    assert np.array_equal(x[int(2.5 * SR) + 1 :], message[int(2.5 * SR) + 1 :])
    y = audio.bleep(message, [(2.0, 2.5)])
    assert _tone_fraction(_seg(y, 1.76, 2.74)) > 0.99
    assert not np.shares_memory(x, message) and not np.shares_memory(y, message)


@pytest.mark.parametrize(
    "bad", [[(float("nan"), 1.0)], [(2.0, 1.0)], [(0.0, float("inf"))], [("a", 1)]]
)
def test_invalid_intervals_are_errors_not_silently_dropped(bad, message):
    with pytest.raises(ValueError):
        make_extract(message, bad, 4)


def test_merge_intervals():
    assert audio.merge_intervals([(3, 4), (1, 2), (1.5, 2.5)]) == [(1.0, 2.5), (3.0, 4.0)]
    assert audio.merge_intervals([(0.1, 0.2)], margin_s=0.25, duration_s=0.3) == [(0.0, 0.3)]
    assert audio.merge_intervals([(5, 6)], margin_s=0.25, duration_s=3) == []


def test_nothing_to_extract():
    with pytest.raises(ValueError):
        make_extract(np.zeros(0, np.float32), [], 4)
    with pytest.raises(ValueError):
        make_extract(np.ones(SR, np.float32) * 0.1, [], 0)
