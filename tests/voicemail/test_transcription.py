"""Transcription with the real Whisper model on clips spoken by espeak-ng.

espeak-ng's robotic voice transcribes poorly: these tests check the mechanics
(words, timestamps, VAD, language, text/words consistency), never accuracy.
"""

from itertools import pairwise

import numpy as np
import pytest

from relais.voicemail.audio import decode, to_wav_bytes
from relais.voicemail.transcription import (
    Transcript,
    get_model,
    join_words,
    time_intervals_for_char_spans,
    transcribe,
    word_char_spans,
)
from tests.clips import speak, speak_samples, tone_samples

FRENCH = "Bonjour, je voudrais un devis pour repeindre ma cuisine. Merci, au revoir."
EXPECTED_SOME_OF = {"bonjour", "devis", "cuisine", "merci", "revoir", "repeindre"}


@pytest.fixture(scope="module")
def padded_clip(tmp_path_factory):
    """The French clip with 4 s of silence before and 3 s after."""
    path = speak(FRENCH, tmp_path_factory.mktemp("w") / "padded.ogg", fmt="ogg",
                 speed=140, pad_s=(4.0, 3.0))
    return decode(path)


def _check_words(t, duration):
    assert t.words
    assert t.text == "".join(w["word"] for w in t.words).strip() == join_words(t.words)
    starts = [w["start"] for w in t.words]
    assert starts == sorted(starts)
    for w in t.words:
        assert 0 <= w["start"] <= w["end"] <= duration + 0.01
        assert 0 <= w["probability"] <= 1
        assert isinstance(w["start"], float) and isinstance(w["word"], str)
    for a, b in pairwise(t.words):
        assert a["end"] <= b["start"] + 0.01
    lowered = {w["word"].strip(" ,.!?").lower() for w in t.words}
    assert lowered & EXPECTED_SOME_OF, t.text


@pytest.mark.whisper
def test_french_clip_batched_default(whisper_model, padded_clip):
    t = transcribe(padded_clip)
    _check_words(t, padded_clip.duration_s)
    assert t.language == "fr" and t.language_probability == 1
    assert t.duration_s == pytest.approx(padded_clip.duration_s)
    assert t.model == "base" and t.elapsed_s > 0
    assert t.segments and all(s["start"] <= s["end"] for s in t.segments)
    # VAD: the words sit in the speech region, not in the padding…
    speech_end = padded_clip.duration_s - 3.0
    assert 3.5 <= t.words[0]["start"] and t.words[-1]["end"] <= speech_end + 0.5
    # …and the silences were not sent to Whisper.
    assert t.speech_s < padded_clip.duration_s - 5
    assert t.to_dict()["words"] == t.words


@pytest.mark.whisper
def test_french_clip_sequential_and_without_vad(whisper_model, padded_clip):
    t = transcribe(padded_clip, batch_size=0)
    _check_words(t, padded_clip.duration_s)
    assert 3.5 <= t.words[0]["start"]
    t = transcribe(padded_clip, vad=False, beam_size=1)
    assert t.speech_s == pytest.approx(padded_clip.duration_s, abs=0.01)
    assert t.words and t.words[-1]["end"] <= padded_clip.duration_s + 0.01


@pytest.mark.whisper
def test_silence_cut_by_the_vad_does_not_shift_later_words(whisper_model):
    """Word times stay in the message's timeline across a long pause (bleeps rely on it)."""
    first, sr = speak_samples("Bonjour, je voudrais un devis pour ma cuisine.", speed=140)
    second, _ = speak_samples("Merci beaucoup, au revoir.", speed=140)
    x = np.concatenate([np.zeros(sr, np.float32), first, np.zeros(5 * sr, np.float32),
                        second, np.zeros(sr, np.float32)])
    clip = decode(to_wav_bytes(x, sr))
    first_end = 1 + first.size / sr
    second_start = first_end + 5
    for batch_size in (8, 0):
        words = transcribe(clip, batch_size=batch_size).words
        gaps = [(b["start"] - a["end"], a, b) for a, b in pairwise(words)]
        gap, before, after = max(gaps, key=lambda g: g[0])
        assert gap > 4
        assert first_end - 1.0 < before["end"] <= first_end + 0.3
        assert second_start - 0.3 <= after["start"] < second_start + 1.0


@pytest.mark.whisper
def test_language_detection_records_the_language(whisper_model, tmp_path):
    clip = decode(speak("Hello, I would like a quote for painting my kitchen. Thank you.",
                        tmp_path / "en.wav", voice="en", speed=140))
    t = transcribe(clip, language="auto")
    assert t.language == "en"
    assert 0.5 < t.language_probability <= 1
    assert {"hello", "kitchen", "quote", "painting"} & {
        w["word"].strip(" ,.!?").lower() for w in t.words
    }


@pytest.mark.whisper
def test_no_speech_gives_an_empty_transcript(whisper_model):
    t = transcribe(tone_samples(3.0, 440))  # a dial tone: VAD finds no speech
    assert t.text == "" and t.words == [] and t.speech_s == 0


@pytest.mark.whisper
def test_model_loaded_once_per_process_with_the_settings(whisper_model, settings):
    assert get_model() is whisper_model
    assert whisper_model.compute_type == settings.RELAIS_WHISPER_COMPUTE_TYPE == "int8"
    assert whisper_model.cpu_threads == settings.RELAIS_WHISPER_THREADS
    assert whisper_model.device == "cpu"
    assert whisper_model.path.parent == settings.RELAIS_MODEL_CACHE


# --- Text ↔ words (no model needed) ------------------------------------------------------

WORDS = [
    {"start": 0.5, "end": 0.9, "word": " Bonjour,", "probability": 0.9},
    {"start": 1.0, "end": 1.2, "word": " c", "probability": 0.9},
    {"start": 1.2, "end": 1.3, "word": "'est", "probability": 0.9},
    {"start": 1.3, "end": 1.6, "word": " Jean", "probability": 0.9},
    {"start": 1.6, "end": 2.0, "word": " Dupont,", "probability": 0.9},
    {"start": 2.1, "end": 2.1, "word": " 06", "probability": 0.9},
    {"start": 2.1, "end": 2.6, "word": " 12", "probability": 0.9},
    {"start": 2.7, "end": 3.0, "word": " merci.", "probability": 0.9},
]


def test_word_char_spans_follow_the_join_rule():
    text = join_words(WORDS)
    assert text == "Bonjour, c'est Jean Dupont, 06 12 merci."
    spans = word_char_spans(WORDS)
    assert [text[a:b] for a, b in spans] == [w["word"].strip() for w in WORDS]
    assert word_char_spans([]) == [] and join_words([]) == ""
    odd = [{"word": "  Salut"}, {"word": ""}, {"word": " toi "}]
    text = join_words(odd)
    assert [text[a:b] for a, b in word_char_spans(odd)] == ["Salut", "", "toi"]


def test_time_intervals_for_redacted_spans():
    text = join_words(WORDS)
    name = (text.index("Jean"), text.index("Dupont") + len("Dupont"))
    phone = (text.index("06"), text.index("12") + 2)
    assert time_intervals_for_char_spans(WORDS, [name, phone]) == [
        (1.3, 1.6), (1.6, 2.0), (2.1, 2.1), (2.1, 2.6),
    ]
    # A span touching part of a word covers the whole word.
    inside = text.index("Dup") + 1
    assert time_intervals_for_char_spans(WORDS, [(inside, inside + 1)]) == [(1.6, 2.0)]
    assert time_intervals_for_char_spans(WORDS, []) == []
    assert np.isfinite(np.array(time_intervals_for_char_spans(WORDS, [(0, len(text))]))).all()


def test_unreliable_intervals_flag_loops_and_low_confidence():
    seg = {"text": "", "no_speech_prob": 0.1}
    t = Transcript(
        text="", words=[], language="fr", language_probability=1.0, duration_s=60,
        speech_s=50,
        segments=[
            {**seg, "start": 0.5, "end": 20.0, "avg_logprob": -0.3, "compression_ratio": 1.5},
            {**seg, "start": 20.5, "end": 40.0, "avg_logprob": -0.4, "compression_ratio": 6.2},
            {**seg, "start": 41.0, "end": 55.0, "avg_logprob": -1.4, "compression_ratio": 1.2},
        ],
    )
    assert t.unreliable_intervals() == [(20.5, 40.0), (41.0, 55.0)]
