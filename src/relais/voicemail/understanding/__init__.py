"""Understanding voicemail transcripts: intent, métier, urgency, sharing, redaction.

Plain functions, usable without a database:

- ``understand(text, called_metiers=None) -> Understanding``
- ``redact(text) -> Redaction`` (spans point into the original text)
- ``spans_to_word_indices(words, spans)``: which timed words to bleep in the audio
"""

from .decide import URGENCIES, Understanding, get_understander, reset_understander, understand
from .features import INTENTS
from .metiers import metier_info
from .redact import TOKENS, Redaction, Span, redact, spans_to_word_indices, words_text

__all__ = [
    "INTENTS",
    "TOKENS",
    "URGENCIES",
    "Redaction",
    "Span",
    "Understanding",
    "classify",
    "get_understander",
    "metier_info",
    "redact",
    "reset_understander",
    "spans_to_word_indices",
    "understand",
    "words_text",
]


def classify(text: str, *, called_metiers: list[str] | None = None) -> dict:
    """The decision as ``relais classify`` prints it (without the id): understanding + redaction."""
    u = understand(text, called_metiers=called_metiers)
    return {
        "intent": u.intent,
        "shareable": u.shareable,
        "confidence": u.confidence,
        "metier": metier_info(u.metier) if u.metier else None,
        "urgency": u.urgency,
        "redacted_text": redact(text).text,
    }
