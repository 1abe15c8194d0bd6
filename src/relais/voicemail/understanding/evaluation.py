"""Quality figures of understanding and redaction on labelled rows (the corpus format).

Used by ``benchmarks/classification.py`` and by the test that holds the project's aims
on the test split.
"""

from __future__ import annotations

import re
from collections import Counter

from .calibration import reliability
from .decide import Understander
from .features import INTENTS
from .redact import Redaction, Span, redact
from .text import commune_names, words

NEVER_SHARED = frozenset({"personal", "billing_or_admin", "follow_up"})
_CIVILITY = re.compile(
    r"^(?:monsieur|madame|mademoiselle|mme|m\.|mr|ma[iî]tre|docteur|famille|tonton)\s+", re.I
)
_CONNECTORS = frozenset({"et", "and", "de", "du", "des", "le", "la", "d"})
PHONE_LIKE = re.compile(r"(?:\+|\b)(?:0|33|0033)\s?[1-9](?:[\s.-]?[0-9]{2}){4}\b")
_PLACE_BEFORE = re.compile(r"\b(?:à|au|sur|vers|près de)\s+$", re.I)


def leaked(row: dict, spans: list[Span]) -> list[dict]:
    """Annotated personal details (row["pii"]) not fully covered by redaction spans.

    A name counts without its civility ("Madame") and connectors ("Laurent et Sophie")."""
    covered: set[int] = set()
    for s in spans:
        covered.update(range(s.start, s.end))
    out = []
    for p in row.get("pii", []):
        a, b = p["start"], p["end"]
        if p["kind"] == "name":
            m = _CIVILITY.match(row["text"][a:b])
            a += m.end() if m else 0
        need: list[int] = []
        for w in re.finditer(r"\w+", row["text"][a:b]):
            if p["kind"] == "name" and w.group(0).lower() in _CONNECTORS:
                continue
            need += range(a + w.start(), a + w.end())
        if not all(i in covered for i in need):
            out.append(p)
    return out


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def evaluate(rows: list[dict], understander: Understander, threshold: float = 0.8) -> dict:
    preds = [understander.understand(r["text"], called_metiers=r.get("called_metiers"))
             for r in rows]
    reds: list[Redaction] = [redact(r["text"]) for r in rows]
    pairs = list(zip(preds, rows, strict=True))

    per_intent = {}
    for i in INTENTS:
        tp = sum(p.intent == i and r["intent"] == i for p, r in pairs)
        per_intent[i] = {
            "precision": _ratio(tp, sum(p.intent == i for p in preds)),
            "recall": _ratio(tp, sum(r["intent"] == i for r in rows)),
            "support": sum(r["intent"] == i for r in rows),
        }

    def pr(flags: list[bool]) -> tuple[float | None, float | None, int]:
        tp = sum(f and r["shareable"] for f, r in zip(flags, rows, strict=True))
        fp = sum(f and not r["shareable"] for f, r in zip(flags, rows, strict=True))
        fn = sum(not f and r["shareable"] for f, r in zip(flags, rows, strict=True))
        return _ratio(tp, tp + fp), _ratio(tp, tp + fn), fp

    sp, sr, sfp = pr([p.shareable for p in preds])
    auto = [p.shareable and p.confidence >= threshold for p in preds]
    ap, ar, afp = pr(auto)
    mq = [(p, r) for p, r in pairs if r["intent"] == "quote_request" and r["metier"]]
    ms = [(p, r) for p, r in mq if r["shareable"]]
    quote = [(p, r) for p, r in pairs if r["intent"] == "quote_request"]

    leaks: Counter[str] = Counter()
    annotated: Counter[str] = Counter()
    leak_examples = []
    for r, red in zip(rows, reds, strict=True):
        annotated.update(p["kind"] for p in r.get("pii", []))
        for p in leaked(r, red.spans):
            leaks[p["kind"]] += 1
            leak_examples.append({"id": r["id"], "kind": p["kind"],
                                  "text": r["text"][p["start"]:p["end"]]})
    towns = commune_names()
    towns_redacted = sum(
        1
        for r, red in zip(rows, reds, strict=True)
        for s in red.spans
        if _PLACE_BEFORE.search(r["text"][max(0, s.start - 10):s.start])
        and " ".join(words(r["text"][s.start:s.end])) in towns
    )
    same_metier = sum(
        understander.understand(red.text).metier == p.metier
        for p, r, red in zip(preds, rows, reds, strict=True) if r["intent"] == "quote_request"
    )
    # What routing does with each message if its caller consented: shared at once,
    # moderated (a shareable decision under the threshold), or kept with the called pro.
    requests = [(a, p, r) for a, (p, r) in zip(auto, pairs, strict=True) if r["shareable"]]
    non_requests = [(a, p, r) for a, (p, r) in zip(auto, pairs, strict=True)
                    if r["intent"] != "quote_request"]
    moderated = [p.shareable and p.confidence < threshold for p in preds]
    shared_ok = [(p, r) for a, p, r in requests if a]
    routing_figures = {
        "requests_auto_shared": _ratio(len(shared_ok), len(requests)),
        "non_requests_auto_shared": sum(a for a, _, _ in non_requests),
        "not_shareable_auto_shared": sum(
            a and not r["shareable"] for a, (_, r) in zip(auto, pairs, strict=True)),
        "auto_shared_trade_accuracy": _ratio(
            sum(p.metier == r["metier"] for p, r in shared_ok), len(shared_ok)),
        "moderation_share": _ratio(sum(moderated), len(rows)),
        # reliability curve: shareable decisions by confidence bin, share that was right
        "reliability": reliability([(p.confidence, bool(r["shareable"] and p.metier == r["metier"]))
                                    for p, r in pairs if p.shareable]),
    }
    urgent_rows = [(p, r) for p, r in pairs if r.get("urgency")]
    quote = [(p, r) for p, r in quote if r.get("urgency")]
    return {
        "messages": len(rows),
        **routing_figures,
        "intent_accuracy": _ratio(sum(p.intent == r["intent"] for p, r in pairs), len(rows)),
        "per_intent": per_intent,
        "shareable_precision": sp,
        "shareable_recall": sr,
        "shareable_false_positives": sfp,
        "auto_share_threshold": threshold,
        "auto_shared_precision": ap,
        "auto_shared_recall": ar,
        "auto_shared_false_positives": afp,
        "auto_shared_wrong_metier": sum(
            a and p.metier != r["metier"] for a, (p, r) in zip(auto, pairs, strict=True)),
        "personal_billing_followup_shareable": sum(
            p.shareable and r["intent"] in NEVER_SHARED for p, r in pairs),
        "metier_accuracy": _ratio(sum(p.metier == r["metier"] for p, r in mq), len(mq)),
        "metier_accuracy_shareable": _ratio(sum(p.metier == r["metier"] for p, r in ms), len(ms)),
        "metier_examples": len(mq),
        "urgency_accuracy": _ratio(sum(p.urgency == r["urgency"] for p, r in urgent_rows),
                                   len(urgent_rows)),
        "urgency_accuracy_requests": _ratio(
            sum(p.urgency == r["urgency"] for p, r in quote), len(quote)),
        "pii_annotated": dict(annotated),
        "leaks": {k: leaks.get(k, 0) for k in sorted(annotated)},
        "leak_examples": leak_examples[:10],
        "phone_like_left": sum(bool(PHONE_LIKE.search(red.text)) for red in reds),
        "email_left": sum("@" in red.text or "arobase" in red.text.lower() for red in reds),
        "town_names_redacted": towns_redacted,
        "metier_kept_after_redaction": _ratio(same_metier, len(quote)),
    }
