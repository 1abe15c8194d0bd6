"""What the understanding looks at in a transcript: words, lexicon markers, cues."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from .text import (
    STOPWORDS,
    first_names,
    fold,
    keys,
    lexicons,
    marker_matcher,
    mask_places,
    words,
)

INTENTS = (
    "quote_request",
    "follow_up",
    "personal",
    "billing_or_admin",
    "supplier_or_delivery",
    "job_application",
    "commercial_solicitation",
    "wrong_number",
    "empty",
    "other",
)
GUARDS = ("addressed", "billing", "personal", "commercial", "job", "wrong")

# Longest text looked at; a 10-minute voicemail is about 9,000 characters.
MAX_CHARS = 12_000

FILLERS = frozenset(
    """
    euh heu hum bah ben bon oui non allo allô bonjour bonsoir merci revoir au voila hello hi
    thank thanks you bye ok okay d accord quelqu un y a il rien ah oh zut mince bip musique
    bruit quoi attends laisse tomber raccroche repondeur rappelez rappeler rappellerai moi plus
    tard the is
    """.split()
)
# Familiar "tu" forms: a friend or relative, or a professional the caller knows well.
_TUTOIEMENT = re.compile(r"\b(?:tu|toi|ton|ta|tes|te)\b|\bt['’](?=[a-zàâéèêîôû])", re.IGNORECASE)

_FR = frozenset("je vous de la le est pour c bonjour merci et un une les des que pas mon ma oui "
                "j ai au du il on nous allo pardon non svp euh revoir numero".split())
_EN = frozenset("the i you we is to my and please hi hello thanks for it our this are can".split())
_OTHER = frozenset(
    "hola necesito para mi por favor gracias usted tengo necesitamos ich bitte und nicht "
    "danke wir haben eine ist das der die mit olá preciso obrigado voce você não uma casa "
    "ciao grazie sono vorrei della".split()
)

_FAMILIAR = re.compile(
    r"(?:\bc['’]est|\bsalut|\bcoucou|\bbonjour|\bbonsoir|\ballô|\ballo|\bhey)[ ,]+"
    r"(?P<name>[A-ZÀ-ÖØ-Ý][\w-]+)(?P<after>[ ,.!?]+\S+)?"
)


@cache
def guard_patterns() -> dict[str, list[re.Pattern]]:
    return {k: [re.compile(p) for p in v] for k, v in lexicons().get("guard_patterns", {}).items()}


@dataclass
class Analysis:
    text: str
    words: list[str]
    keys: list[str]
    markers: Counter = field(default_factory=Counter)
    hits: dict[str, list[str]] = field(default_factory=dict)
    content_words: int = 0
    longest_content_word: int = 0  # letters of the longest word that is not a stopword
    unreadable: float = 0.0  # share of the visible characters no one writes (see below)
    tutoiement: int = 0
    familiar_name: str | None = None
    lang: str = "fr"
    has_digits: bool = False

    _trades: tuple | None = None

    def trades(self) -> tuple[dict[str, float], list]:
        """Lexicon scores per métier and the phrases found (computed once)."""
        if self._trades is None:
            from .metiers import match_metiers

            self._trades = match_metiers(self.keys)
        return self._trades

    def marker(self, label: str) -> int:
        return self.markers.get(label, 0)

    def guards(self) -> list[str]:
        """Guard categories that fired, with the phrase that fired them."""
        out = []
        for g in GUARDS:
            for phrase in self.hits.get(f"guard:{g}", []):
                out.append(f"{g}: « {phrase} »")
        if self.tutoiement:
            out.append("addressed: tutoiement")
        if self.familiar_name:
            out.append(f"addressed: « {self.familiar_name} »")
        return out


def guess_language(ws: list[str]) -> str:
    if not ws:
        return "none"  # no word at all
    fr = sum(w in _FR for w in ws)
    en = sum(w in _EN for w in ws)
    other = sum(w in _OTHER for w in ws)
    if other > max(fr, en):
        return "other"
    if en > fr:
        return "en"
    return "fr"  # Relais is French: without a sign of another language, French


def _familiar_name(text: str) -> str | None:
    sure, _ = first_names()
    for m in _FAMILIAR.finditer(text):
        name = m.group("name")
        if fold(name) not in sure:
            continue
        after = (m.group("after") or "").strip(" ,.!?")
        if after[:1].isupper() and not after.lower().startswith(("c'est", "c’est")):
            continue  # "c'est Sophie Martin": a full name, how strangers introduce themselves
        if fold(after) in {"de", "du", "d", "des"} or fold(after).startswith(("d'", "d’")):
            continue  # "c'est Julien de la menuiserie Besnard"
        return m.group(0).strip(" ,")
    return None


# Characters no transcript and no typed message holds: control characters (other than
# line breaks and tabs), private-use code points, lone surrogates, and U+FFFD, which
# stands for bytes that were not text. Emoji and symbols are not among them (an SMS may
# hold some).
_UNREADABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ue000-\uf8ff"
                         r"\ud800-\udfff\U000f0000-\U0010ffff]")


def unreadable_share(text: str) -> float:
    """Share of the text's characters, spaces, tabs and line breaks aside, that are
    unreadable (_UNREADABLE)."""
    visible = len(text) - sum(map(text.count, " \t\r\n"))
    return len(_UNREADABLE.findall(text)) / visible if visible else 0.0


def analyse(text: str) -> Analysis:
    text = text[:MAX_CHARS]
    ws = words(text)
    ks = keys(mask_places(text))
    a = Analysis(text=text, words=ws, keys=ks)
    hits: dict[str, list[str]] = defaultdict(list)
    for _, _, p in marker_matcher().find(ks):
        a.markers[p.label] += 1
        hits[p.label].append(p.text)
    lowered = text.lower()
    for label, patterns in guard_patterns().items():
        for rx in patterns:
            for m in rx.finditer(lowered):
                a.markers[f"guard:{label}"] += 1
                hits[f"guard:{label}"].append(m.group(0))
    a.hits = dict(hits)
    content = [w for w in ws if w not in STOPWORDS and w not in FILLERS]
    a.content_words = len(content)
    a.longest_content_word = max(map(len, content), default=0)
    a.unreadable = unreadable_share(text)
    a.lang = guess_language(ws)
    a.tutoiement = len(_TUTOIEMENT.findall(text)) if a.lang == "fr" else 0
    a.familiar_name = _familiar_name(text)
    a.has_digits = bool(re.search(r"\d", text))
    return a


def model_text(a: Analysis) -> str:
    """The text the TF-IDF vectorisers see: stemmed keys, with numbers folded to a token."""
    return " ".join("NUM" if k.isdigit() else k for k in a.keys)


def dense_features(a: Analysis) -> np.ndarray:
    f = [np.log1p(a.marker(f"intent:{i}")) for i in INTENTS]
    f += [min(a.marker(f"guard:{g}"), 1) for g in GUARDS]
    f += [
        np.log1p(a.tutoiement),
        1.0 if a.familiar_name else 0.0,
        1.0 if a.content_words <= 2 else 0.0,
        1.0 if a.content_words <= 5 else 0.0,
        1.0 if a.content_words > 12 else 0.0,
        1.0 if a.lang == "en" else 0.0,
        1.0 if a.has_digits else 0.0,
    ]
    return np.asarray(f, dtype=float)
