"""The métier taxonomy as the understanding sees it, and the lexicon matcher for it.

The taxonomy (slug, label, NAF sous-classes, shareable flag, synonyms, phrases) is read
from the directory's data file through ``relais.directory.reference.metier_entries`` —
no database needed.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache

from relais.directory.reference import metier_entries

from .text import STOPWORD_KEYS, Phrase, PhraseMatcher, keys

# A trade's name ("plombier", "serrurerie") says more than a symptom ("fuite d'eau").
NAME_WEIGHT = 2.0
# …but only a name for a person doing the trade ("plombier", "agent de sécurité"); a
# synonym naming a thing or a place ("garage", "salle des fêtes") weighs as a phrase.
AGENT_SUFFIXES = ("ier", "iere", "eur", "euse", "rice", "iste", "ien", "ienne", "ogue",
                  "graphe", "ecte", "etre", "aire", "ant", "ante", "er")
AGENT_WORDS = frozenset({"dj", "coach", "nounou", "veto", "kine", "taxi", "vtc", "osteo",
                         "chauffeur", "baby", "sitter", "babysitter", "vet", "nurse"})
PHRASE_WEIGHT = 1.0
MULTIWORD_BONUS = 0.35


@cache
def taxonomy() -> dict[str, dict]:
    return {e["slug"]: e for e in metier_entries()}


def metier_info(slug: str) -> dict | None:
    """{"slug", "label", "naf"} for a slug, as ``relais classify`` prints it."""
    e = taxonomy().get(slug)
    if e is None:
        return None
    return {"slug": e["slug"], "label": e["label"], "naf": list(e["naf_codes"])}


def metier_documents() -> list[tuple[str, str]]:
    """(text, slug) pairs built from the taxonomy, extra training data for the classifier."""
    docs = []
    for e in taxonomy().values():
        docs.append((" ".join([e["label"], *e["synonyms"]]), e["slug"]))
        for p in e["phrases"]:
            docs.append((f"{p} {e['label']}", e["slug"]))
    return docs


@dataclass(frozen=True)
class MetierHit:
    slug: str
    text: str
    weight: float


def _is_agent(name: str) -> bool:
    from .text import words

    return any(w in AGENT_WORDS or (len(w) > 4 and w.endswith(AGENT_SUFFIXES))
               for w in words(name))


@cache
def metier_matcher() -> PhraseMatcher:
    raw: list[tuple[tuple[str, ...], str, float, str]] = []
    for e in taxonomy().values():
        names = [e["label"], *e["synonyms"]]
        for t in names:
            w = NAME_WEIGHT if _is_agent(t) else PHRASE_WEIGHT
            raw.append((tuple(keys(t)), e["slug"], w, t))
        for t in e["phrases"]:
            raw.append((tuple(keys(t)), e["slug"], PHRASE_WEIGHT, t))
    # A phrase several trades share ("ravalement de façade") counts less for each.
    owners: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for k, slug, _, _ in raw:
        owners[k].add(slug)
    phrases = []
    seen = set()
    for k, slug, w, t in raw:
        if not k or (k, slug) in seen:
            continue
        seen.add((k, slug))
        content = [x for x in k if x not in STOPWORD_KEYS]
        if not content:
            continue
        w = w * (1 + MULTIWORD_BONUS * (len(content) - 1)) / math.sqrt(len(owners[k]))
        phrases.append(Phrase(k, slug, w, t))
    return PhraseMatcher(phrases, contiguous=False, gap=2)


def match_metiers(text_keys: list[str]) -> tuple[dict[str, float], list[MetierHit]]:
    """Lexicon scores per métier; a match inside a longer match of another trade is dropped."""
    found = metier_matcher().find(text_keys)
    kept = []
    for s, e, p in found:
        # dropped when strictly inside a longer, gap-free match of another trade
        # (or inside any longer match of the same trade: counted once)
        inside = any(
            (s2 <= s and e <= e2 and (e2 - s2) > (e - s)
             and (p2.label == p.label or e2 - s2 == len(p2.keys)))
            for s2, e2, p2 in found
        )
        if not inside:
            kept.append((s, e, p))
    scores: Counter[str] = Counter()
    hits = []
    seen = set()
    for _, _, p in kept:
        if (p.label, p.keys) in seen:
            continue
        seen.add((p.label, p.keys))
        scores[p.label] += p.weight
        hits.append(MetierHit(p.label, p.text, p.weight))
    return dict(scores), hits


GENERIC_SHARE = 6  # a word in the vocabulary of more trades than this is not specific
COMMON_SHARE = 25  # …and one in more than this ("faire", "changer") says nothing at all


@cache
def vocabularies() -> dict[str, frozenset[str]]:
    """Content words of each trade's names and phrases, without words most trades share."""
    vocab: dict[str, set[str]] = {}
    for e in taxonomy().values():
        ks: set[str] = set()
        for t in [e["label"], *e["synonyms"], *e["phrases"]]:
            ks.update(k for k in keys(t) if k not in STOPWORD_KEYS and len(k) > 2)
        vocab[e["slug"]] = ks
    counts = Counter(k for ks in vocab.values() for k in ks)
    return {slug: frozenset(k for k in ks if counts[k] <= GENERIC_SHARE)
            for slug, ks in vocab.items()}


@cache
def symptom_vocabularies() -> dict[str, frozenset[str]]:
    """Each trade's words, including those a few trades share ("fuite"), not the commonest."""
    vocab: dict[str, set[str]] = {}
    for e in taxonomy().values():
        ks: set[str] = set()
        for t in [e["label"], *e["synonyms"], *e["phrases"]]:
            ks.update(k for k in keys(t) if k not in STOPWORD_KEYS and len(k) > 2)
        vocab[e["slug"]] = ks
    counts = Counter(k for ks in vocab.values() for k in ks)
    return {slug: frozenset(k for k in ks if counts[k] <= COMMON_SHARE)
            for slug, ks in vocab.items()}


def shared_vocabulary(text_keys: list[str], slug: str) -> list[str]:
    """Words of the text that belong to a trade's vocabulary ("fuite" for couvreur)."""
    vocab = symptom_vocabularies().get(slug, frozenset())
    return sorted({k for k in text_keys if k in vocab})


@cache
def _all_vocabulary() -> frozenset[str]:
    return frozenset(k for ks in vocabularies().values() for k in ks)


def any_trade_word(text_keys: list[str]) -> bool:
    """Whether the text says a word of some trade's vocabulary ("fuite", "chaudière")."""
    vocab = _all_vocabulary()
    return any(k in vocab for k in text_keys)
