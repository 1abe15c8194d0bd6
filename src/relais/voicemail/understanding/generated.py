"""Labelled rows generated from template families (``data/corpus/templates.toml``).

The hand-written corpus is small and does not cover every trade; the families say
requests for every métier of the taxonomy, work that spans several trades, messages to
the professional as a customer, a citizen or a scam's target, in written and hurried
spoken style (what Whisper writes of a phone line). Each family is in the ``train`` or
the ``heldout`` split: training never sees a held-out family's wording, so the held-out
figures of ``benchmarks/classification.py`` are about phrasings the models have not seen.
The trade phrases are split too: a trade's request phrases alternate between the two
splits (a trade with a single phrase uses it in both).

Deterministic: the same files give the same rows (seeded per family and métier).
"""

from __future__ import annotations

import random
import re
import tomllib
from collections import defaultdict
from functools import cache

from .metiers import taxonomy
from .text import DATA, STOPWORD_KEYS, keys

TEMPLATES = DATA / "corpus" / "templates.toml"
SPLITS = ("train", "heldout")
NON_REQUEST_ROWS = 16  # rows per template of a family that is not a request


@cache
def _families() -> tuple[list[dict], dict[str, list[str]]]:
    data = tomllib.loads(TEMPLATES.read_text(encoding="utf-8"))
    return data["family"], data["slots"]


@cache
def request_phrases() -> dict[str, tuple[list[str], list[str]]]:
    """Each métier's phrases that name it alone (no other trade says them), two words or
    more: (train phrases, held-out phrases)."""
    owners: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for e in taxonomy().values():
        for p in e["phrases"]:
            owners[tuple(keys(p))].add(e["slug"])
    out = {}
    for slug, e in taxonomy().items():
        own = [p for p in e["phrases"]
               if len(owners[tuple(keys(p))]) == 1
               and len([k for k in keys(p) if k not in STOPWORD_KEYS]) >= 2]
        if not own:
            own = [p for p in e["phrases"] if len(owners[tuple(keys(p))]) == 1] or \
                  list(e["phrases"][:1]) or [e["label"].lower()]
        train, held = own[0::2], own[1::2] or own[0::2]
        out[slug] = (train, held)
    return out


def spoken(text: str, rng: random.Random) -> str:
    """As Whisper writes a hurried phone line: lower case, little punctuation, a
    hesitation, a word said twice."""
    words = re.sub(r"[,.;:!?]", "", text).lower().split()
    if len(words) > 4:
        words.insert(rng.randrange(1, 4), "euh")
        i = rng.randrange(2, len(words) - 1)
        words.insert(i, words[i])
    return " ".join(words)


def _fill(template: str, slots: dict, rng: random.Random, need: str, need2: str) -> str:
    values = {k: rng.choice(v) for k, v in slots.items()}
    values.update(need=need, need2=need2)
    return template.format(**values)


def rows(split: str) -> list[dict]:
    """The generated rows of ``split`` (``train`` or ``heldout``), in the corpus format
    (no ``pii``: these rows measure understanding, not redaction)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    families, slots = _families()
    phrases = request_phrases()
    slugs = sorted(taxonomy())
    side = 0 if split == "train" else 1
    out: list[dict] = []
    for fam in families:
        if fam["split"] != split:
            continue
        requests = fam["intent"] == "quote_request"
        for t_index, template in enumerate(fam["texts"]):
            targets = slugs if requests else [None] * NON_REQUEST_ROWS
            for n, slug in enumerate(targets):
                rng = random.Random(f"{fam['name']}/{t_index}/{slug}/{n}")
                if requests and len(fam["texts"]) > 1 and rng.randrange(len(fam["texts"])) \
                        != t_index:
                    continue  # one template of the family per métier
                metier = slug or rng.choice(slugs)
                need = rng.choice(phrases[metier][side])
                other = rng.choice([s for s in slugs if s != metier])
                need2 = rng.choice(phrases[other][side])
                text = _fill(template, slots, rng, need, need2)
                called = {"same": [metier], "other": [other], "none": []}[fam["called"]]
                shareable = fam.get("shareable", requests) and (
                    not requests or bool(taxonomy()[metier]["shareable"]))
                row = {"id": f"{fam['name']}-{t_index}-{n}", "text": text,
                       "intent": fam["intent"], "shareable": bool(shareable),
                       "metier": metier if requests or fam["intent"] == "follow_up" else None,
                       "urgency": fam.get("urgency"), "lang": "fr", "pii": [],
                       "called_metiers": called, "family": fam["name"]}
                out.append(row)
                if fam.get("asr"):
                    out.append({**row, "id": row["id"] + "-asr", "text": spoken(text, rng)})
    return out
