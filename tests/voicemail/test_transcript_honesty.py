"""Honest transcripts: loops and hallucinations are dropped and the transcript is marked
unreliable (``transcription.assess``); no model needed — the segments are Whisper's own
output shapes, the looping text the one Whisper base gave on the espeak-ng telephone clip
of ``benchmarks/transcription.py``."""

import pytest

from relais.voicemail.transcription import (
    Transcript,
    assess,
    join_words,
    looping,
    repeated_runs,
)

# Whisper base on the 47 s μ-law clip (2026-12-03): a confident loop (avg_logprob -0.43,
# compression ratio 3.4).
MEASURED_LOOP = (
    " Moubou, monsieur, il s'est clair, Mata. Il y a coupé d'arrivée d'eau, mené d'informer "
    "que quelqu'un passe à féminin. Il y a beaucoup d'où il n'y a pas."
    + " Il y a beaucoup d'arrivée d'eau, mais" * 10 + " il y a beaucoup d"
)


def timed(text: str, start: float = 0.0, step: float = 0.3) -> list[dict]:
    return [{"start": round(start + i * step, 2), "end": round(start + i * step + 0.25, 2),
             "word": f" {w}", "probability": 0.9} for i, w in enumerate(text.split())]


def transcript(*parts: tuple[str, dict]) -> Transcript:
    """A transcript of segments (text, metrics), timed one word every 0.3 s."""
    words, segments, t = [], [], 0.0
    for text, metrics in parts:
        ws = timed(text, t)
        words += ws
        segments.append({"start": ws[0]["start"], "end": ws[-1]["end"], "text": " " + text,
                         "avg_logprob": -0.3, "no_speech_prob": 0.05,
                         "compression_ratio": 1.4, **metrics})
        t = ws[-1]["end"] + 1.0
    return Transcript(text=join_words(words), words=words, language="fr",
                      language_probability=1.0, duration_s=t, speech_s=t, segments=segments)


def test_the_measured_loop_is_cut_to_its_first_occurrence():
    tokens = MEASURED_LOOP.split()
    runs = repeated_runs(tokens)
    kept = [w for i, w in enumerate(tokens) if not any(a <= i < b for a, b in runs)]
    text = " ".join(kept)
    assert text.count("d'arrivée d'eau, mais") == 1
    assert text.endswith("Il y a beaucoup d'arrivée d'eau, mais")  # the cut-off copy too
    assert not looping(text)


@pytest.mark.parametrize("text", [
    "cinq, " * 100 + "cinq.",
    "Bonjour je voudrais un devis pour un devis pour un devis pour la cuisine",
    "s'il s'il s'il s'il vous plaît",
])
def test_loops_are_found(text):
    assert looping(text)


@pytest.mark.parametrize("text", [
    "non non non, ce n'est pas ça",  # people repeat a word three times
    "le le chauffe-eau fuit, vous vous déplacez ?",
    "zéro six, douze, douze, trente-quatre, cinquante-six",
    "Bonjour, je voudrais un devis pour repeindre ma cuisine. Merci, au revoir.",
])
def test_ordinary_speech_is_not_a_loop(text):
    assert not looping(text)


def test_a_looping_transcript_is_unreliable_and_keeps_only_what_is_reliable():
    t = assess(transcript(
        ("Bonjour, j'ai une fuite sous l'évier.", {}),
        (MEASURED_LOOP.strip(), {"compression_ratio": 3.41, "avg_logprob": -0.43}),
    ))
    assert not t.reliable
    assert "boucle" in " ".join(t.issues)
    assert t.text.startswith("Bonjour, j'ai une fuite sous l'évier.")
    assert not looping(t.text)
    assert t.text == join_words(t.words)  # redaction offsets still map onto the words
    assert t.raw_words > len(t.words)
    # the dropped stretch is reported for bleeping (inside the flagged loop segment)
    loop_segment = (t.segments[1]["start"], t.segments[1]["end"])
    assert loop_segment in t.unreliable_intervals()
    assert all(loop_segment[0] <= a <= b <= loop_segment[1] for a, b in t.dropped)


def test_words_invented_on_silence_are_dropped():
    t = assess(transcript(
        ("Bonjour, pouvez-vous rappeler pour la chaudière ?", {}),
        ("Sous-titrage Société Radio-Canada", {"no_speech_prob": 0.2}),
        ("Merci d'avance pour tout", {"no_speech_prob": 0.9, "avg_logprob": -1.3}),
    ))
    assert t.text == "Bonjour, pouvez-vous rappeler pour la chaudière ?"
    assert not t.reliable and len(t.dropped) == 2


def test_low_confidence_is_kept_but_unreliable():
    t = assess(transcript(("Je voudrais un devis pour la toiture", {"avg_logprob": -1.2})))
    assert t.text == "Je voudrais un devis pour la toiture"
    assert not t.reliable and "faible confiance" in t.issues[0]


def test_a_clean_transcript_is_reliable_and_unchanged():
    raw = transcript(("Bonjour, je voudrais un devis pour repeindre ma cuisine.", {}),
                     ("Merci, au revoir.", {}))
    t = assess(raw)
    assert t.reliable and t.issues == [] and t.dropped == []
    assert (t.text, t.words) == (raw.text, raw.words)
