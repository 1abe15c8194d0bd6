"""Understanding voicemail transcripts: intent, métier, urgency, sharing, redaction.

Plain functions, usable without a database:

- ``understand(text, called_metiers=None) -> Understanding``
- ``redact(text) -> Redaction`` (spans point into the original text)
- ``spans_to_word_indices(words, spans)``: which timed words to bleep in the audio
"""

from .decide import URGENCIES, Understanding, get_understander, reset_understander, understand
from .features import INTENTS
from .metiers import metier_info

__all__ = [
    "INTENTS",
    "URGENCIES",
    "Understanding",
    "get_understander",
    "metier_info",
    "reset_understander",
    "understand",
]
