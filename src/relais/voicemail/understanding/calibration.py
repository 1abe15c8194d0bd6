"""Calibrated sharing confidence: P(sharing this message is right) for a shareable decision.

The raw evidence — the classifier's P(request), the métier's margin over the runner-up,
whether the métier is one of the called listing's (the caller chose a professional of
that trade: evidence) and whether the called listing's métiers are known at all — goes
through a logistic regression (Platt scaling) whose coefficients are shipped in
``data/understanding/calibration.json``. They are fitted by

    python -m relais.voicemail.understanding.calibration

on **out-of-fold** predictions: the training rows are cut into folds by template family
(hand-written rows by id), each fold is decided by models trained without it — so the
evidence looks as it does on messages of a wording the models never saw — and "right"
means a genuine, shareable request with the right trade. The file also keeps the
reliability table of those predictions (docs/understanding.md). Rerun it when the corpus,
the templates, the lexicons or the taxonomy change.
"""

from __future__ import annotations

import json
import math
import zlib
from functools import cache
from pathlib import Path

from .text import UNDERSTANDING_DATA

CALIBRATION_FILE = UNDERSTANDING_DATA / "calibration.json"
FEATURES = ("logit_p_request", "logit_metier_margin", "called_metier", "called_known")
FOLDS = 4
_EPS = 1e-4


def _logit(p: float) -> float:
    p = min(max(p, _EPS), 1 - _EPS)
    return math.log(p / (1 - p))


def features(p_request: float, metier_margin: float, called_match: bool,
             called_known: bool) -> list[float]:
    return [_logit(p_request), _logit(metier_margin), float(called_match), float(called_known)]


@cache
def coefficients() -> tuple[list[float], float] | None:
    """(coefficients, intercept), or None when no calibration is shipped."""
    try:
        data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    if tuple(data.get("features", ())) != FEATURES:
        return None
    return [float(c) for c in data["coef"]], float(data["intercept"])


def calibrated(p_request: float, metier_margin: float, called_match: bool,
               called_known: bool) -> float | None:
    """P(sharing is right), or None without a calibration file (then the raw product)."""
    fitted = coefficients()
    if fitted is None:
        return None
    coef, intercept = fitted
    z = intercept + sum(c * x for c, x in zip(coef, features(
        p_request, metier_margin, called_match, called_known), strict=True))
    return 1 / (1 + math.exp(-z))


def reliability(points: list[tuple[float, bool]], bins: int = 10) -> list[dict]:
    """Per confidence bin: messages, mean confidence, share that was right."""
    table = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(c, ok) for c, ok in points if lo <= c < hi or (b == bins - 1 and c == 1.0)]
        if inside:
            table.append({"bin": f"{lo:.1f}–{hi:.1f}", "messages": len(inside),
                          "mean_confidence": round(sum(c for c, _ in inside) / len(inside), 3),
                          "right": round(sum(ok for _, ok in inside) / len(inside), 3)})
    return table


def _fold(row: dict) -> int:
    key = row.get("family") or row["id"]
    return zlib.crc32(key.encode()) % FOLDS


def out_of_fold(rows: list[dict]) -> list[tuple[list[float], bool]]:
    """(features, right) of every row decided shareable by models trained without its fold."""
    from .decide import Understander
    from .features import analyse
    from .model import train

    out = []
    for k in range(FOLDS):
        held = [r for r in rows if _fold(r) == k]
        u = Understander(train([r for r in rows if _fold(r) != k]))
        for r in held:
            called = r.get("called_metiers") or []
            d = u.understand(r["text"], called_metiers=called)
            if not d.shareable:
                continue
            a = analyse(r["text"])
            p = u.models.intent_proba(a)["quote_request"]
            m = u.metier(a, called)
            right = bool(r["shareable"] and d.metier == r.get("metier"))
            out.append((features(p, m.confidence, d.metier in called, bool(called)), right))
    return out


def fit(path: Path = CALIBRATION_FILE) -> dict:
    """Fit the calibration on out-of-fold predictions of the training rows; write it."""
    from sklearn.linear_model import LogisticRegression

    from .model import training_rows

    rows, key = training_rows(include_extra=False)
    points = out_of_fold(rows)
    x = [f for f, _ in points]
    y = [ok for _, ok in points]
    lr = LogisticRegression(C=1.0, max_iter=1000)
    lr.fit(x, y)
    probs = lr.predict_proba(x)[:, list(lr.classes_).index(True)]
    data = {
        "features": list(FEATURES),
        "coef": [round(float(c), 6) for c in lr.coef_[0]],
        "intercept": round(float(lr.intercept_[0]), 6),
        "fitted_on": {"training_key": key, "shareable_decisions": len(points),
                      "right": int(sum(y)), "folds": FOLDS},
        "reliability_out_of_fold": reliability(
            [(float(p), ok) for p, ok in zip(probs, y, strict=True)]),
    }
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    coefficients.cache_clear()
    return data


if __name__ == "__main__":  # pragma: no cover - an offline maintenance command
    print(json.dumps(fit(), ensure_ascii=False))
