"""Text normalisation and lexicon matching shared by understanding and redaction.

Matching works on *keys*: each word is folded (lower case, accents removed), split on
apostrophes and hyphens, and lightly stemmed so that "fuite", "fuites" and "fuit", or
"bouché", "bouchée" and "bouchés", meet. A phrase matches when its keys appear as a
contiguous run (``contiguous=True``, for markers) or in order with small gaps
(for métier phrases: "fuite importante d'eau" still matches "fuite d'eau").
"""

from __future__ import annotations

import csv
import re
import tomllib
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from relais.directory.reference import COMMUNES_FILE

DATA = Path(__file__).resolve().parent.parent / "data"
UNDERSTANDING_DATA = DATA / "understanding"

_WORD = re.compile(r"[a-z0-9]+")

# Words that carry no meaning for matching a trade ("une fuite d'eau" ~ "fuite eau").
STOPWORDS = frozenset(
    """
    a au aux d de des du l la le les un une et ou en pour par sur dans avec mon ma mes ton ta tes
    son sa ses notre nos votre vos leur leurs ce cet cette ces qui que qu c est il elle on je j me m
    tu te t nous vous se s y ne n ca cela euh ben bah bon alors voila donc hein
    the a an of to my our in on for is it at and or with your this that
    """.split()
)


def fold(text: str) -> str:
    """Lower case without accents; œ/æ spelled out."""
    text = text.replace("œ", "oe").replace("Œ", "Oe").replace("æ", "ae").replace("Æ", "Ae")
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def stem(word: str) -> str:
    """A light French stemmer: plural, feminine and -er/-ez/-é verb endings."""
    if len(word) > 3 and word[-1] in "sx" and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 4:
        if word.endswith("ee"):
            return word[:-2]
        if word.endswith("e"):
            return word[:-1]
        if len(word) > 5 and word.endswith(("er", "ez")):
            return word[:-2]
    return word


STOPWORD_KEYS = frozenset(stem(w) for w in STOPWORDS) | STOPWORDS


def words(text: str) -> list[str]:
    """Folded words of a text (apostrophes and hyphens separate words)."""
    return _WORD.findall(fold(text))


def keys(text: str) -> list[str]:
    """Stemmed folded words: what lexicons are matched against."""
    return [stem(w) for w in words(text)]


@dataclass(frozen=True)
class Phrase:
    keys: tuple[str, ...]
    label: str  # what the phrase stands for (a métier slug, a category…)
    weight: float = 1.0
    text: str = ""


class PhraseMatcher:
    """Finds lexicon phrases in a sequence of keys.

    contiguous=True: the phrase's keys (stop words included) must follow each other.
    contiguous=False: stop words are dropped from phrase and text alike and the
    remaining keys must appear in order with at most ``gap`` other words between them.
    """

    def __init__(self, phrases: Iterable[Phrase], *, contiguous: bool = True, gap: int = 2):
        self.contiguous = contiguous
        self.gap = gap
        self.by_first: dict[str, list[Phrase]] = defaultdict(list)
        for p in phrases:
            ks = p.keys if contiguous else tuple(k for k in p.keys if k not in STOPWORD_KEYS)
            if not ks:
                continue
            self.by_first[ks[0]].append(Phrase(ks, p.label, p.weight, p.text))

    def find(self, text_keys: list[str]) -> list[tuple[int, int, Phrase]]:
        """Matches as (start, end, phrase), token offsets into the (filtered) keys."""
        seq = text_keys if self.contiguous else [k for k in text_keys if k not in STOPWORD_KEYS]
        out = []
        for i, k in enumerate(seq):
            for p in self.by_first.get(k, ()):
                end = self._match(seq, i, p.keys)
                if end is not None:
                    out.append((i, end, p))
        return out

    def _match(self, seq: list[str], start: int, pk: tuple[str, ...]) -> int | None:
        if self.contiguous:
            n = len(pk)
            return start + n if tuple(seq[start:start + n]) == pk else None
        if len(pk) == 1:
            return start + 1
        pos = start
        for k in pk[1:]:
            limit = min(len(seq), pos + 2 + self.gap)
            for j in range(pos + 1, limit):
                if seq[j] == k:
                    pos = j
                    break
            else:
                return None
        return pos + 1


def phrases_from(items: Iterable[str], label: str, weight: float = 1.0) -> list[Phrase]:
    return [Phrase(tuple(keys(t)), label, weight, t) for t in items if keys(t)]


@cache
def lexicons() -> dict:
    """The lexicon file (data/understanding/lexicons.toml) as a dict."""
    with (UNDERSTANDING_DATA / "lexicons.toml").open("rb") as f:
        return tomllib.load(f)


@cache
def marker_matcher() -> PhraseMatcher:
    """Intent markers, labelled ``intent:<name>``, and guards, labelled ``guard:<name>``."""
    lex = lexicons()
    phrases: list[Phrase] = []
    for intent, section in lex["markers"].items():
        phrases += phrases_from(section["phrases"], f"intent:{intent}")
    for name, items in lex["guards"].items():
        phrases += phrases_from(items, f"guard:{name}")
    for name, items in lex["urgency"].items():
        phrases += phrases_from(items, f"urgency:{name}")
    for name, items in lex.get("forced", {}).items():
        phrases += phrases_from(items, f"forced:{name}")
    return PhraseMatcher(phrases, contiguous=True)


@cache
def first_names() -> tuple[frozenset[str], frozenset[str]]:
    """(sure, ambiguous) first names, folded; ambiguous ones are also common words."""
    sure, ambiguous = set(), set()
    for line in (UNDERSTANDING_DATA / "prenoms.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("?"):
            ambiguous.add(fold(line[1:]))
        else:
            sure.add(fold(line))
    return frozenset(sure), frozenset(ambiguous - sure)


_PLACE = re.compile(
    r"(?:\b(?:à|a|au|sur|vers|de|près de|pres de|in|near|at)\s+|\bd['’])"
    r"(?P<place>[A-ZÀ-ÖØ-Ý][\w'’]*"
    r"(?:[- ](?:[A-ZÀ-ÖØ-Ý][\w'’]*|sur|sous|en|lès|les|le|la|de|du|des|d['’]\w+))*)"
)


@cache
def commune_names() -> frozenset[str]:
    """Normalised names of French communes (the directory's reference file)."""
    with COMMUNES_FILE.open(encoding="utf-8", newline="") as f:
        return frozenset(" ".join(words(r["nom"])) for r in csv.DictReader(f))


def mask_places(text: str) -> str:
    """Replace town names after a preposition ("à Mâcon") by LIEU, so that a town is
    never read as a trade (Mâcon/maçon) or a symptom."""
    names = commune_names()

    def repl(m: re.Match) -> str:
        place = m.group("place")
        parts = place.split(" ")
        # the longest prefix of the capitalised run that is a commune name
        for n in range(len(parts), 0, -1):
            cand = " ".join(parts[:n])
            if " ".join(words(cand)) in names:
                rest = place[len(cand):]
                return m.group(0)[: m.start("place") - m.start(0)] + "LIEU" + rest
        return m.group(0)

    return _PLACE.sub(repl, text)
