"""``understand``: from a transcript to a decision (intent, métier, shareable, urgency).

The classifiers (model.py) give probabilities; lexicon guards (data/understanding/
lexicons.toml) decide what must never be shared whatever the classifiers say: the
professional's own affairs (bank, taxes, URSSAF, insurer), personal calls, follow-ups
with this professional, anything addressed to this professional in particular, robocalls,
job applications, wrong numbers.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from dataclasses import dataclass, field

from .calibration import calibrated
from .features import INTENTS, Analysis, analyse
from .metiers import any_trade_word, shared_vocabulary, taxonomy
from .model import Models, load_or_train, training_rows

URGENCIES = ("urgent", "soon", "normal")
MAX_TRANSCRIPT_CHARS = 20_000

# Métier decision: lexicon score + CLASSIFIER_WEIGHT × classifier probability, plus
# PRIOR for the called listing's métiers; confidence grows with the margin over the
# runner-up.
CLASSIFIER_WEIGHT = 1.5
PRIOR = 0.6
MIN_METIER_SCORE = 0.45
MARGIN_SCALE = 2.0
MIN_SHARED_WORD = 3  # letters: a message shared must have one word at least this long
MAX_UNREADABLE = 0.05  # a message shared has at most this share of unreadable characters
MIN_EVIDENCE = 0.25  # classifier probability below which a text names no trade at all
STRONG_PRIOR = 1.5
UNSURE = 0.4  # intent probability under which the classifier is not trusted alone
STRONG_TRADE_EVIDENCE = 1.3  # a trade's name or a phrase of two words or more


@dataclass(frozen=True)
class Understanding:
    intent: str
    shareable: bool
    confidence: float
    metier: str | None
    urgency: str
    reasons: tuple[str, ...] = field(default=())
    language: str = "fr"

    def as_dict(self) -> dict:
        return {
            "intent": self.intent,
            "shareable": self.shareable,
            "confidence": self.confidence,
            "metier": self.metier,
            "urgency": self.urgency,
            "reasons": list(self.reasons),
            "language": self.language,
        }


@dataclass(frozen=True)
class MetierDecision:
    slug: str | None
    confidence: float
    reasons: tuple[str, ...]


class Understander:
    """Holds the trained models; ``understand`` is the pipeline's entry point."""

    def __init__(self, models: Models):
        self.models = models

    # -- métier ----------------------------------------------------------------------
    def metier(self, a: Analysis, called_metiers: list[str] | None = None) -> MetierDecision:
        lex, hits = a.trades()
        proba = self.models.metier_proba(a)
        top_clf = sorted(proba.items(), key=lambda kv: -kv[1])[:5]
        candidates = set(lex) | {m for m, _ in top_clf}
        called = [m for m in (called_metiers or []) if m in taxonomy()]
        scores = {m: lex.get(m, 0.0) + CLASSIFIER_WEIGHT * proba.get(m, 0.0) for m in candidates}
        # no trade named, but a word the called listing's trade knows ("une fuite" for a
        # plumber or a roofer): that trade is the best guess
        symptom_of_called = [m for m in called if not lex and shared_vocabulary(a.keys, m)]
        if not lex and not symptom_of_called and top_clf and top_clf[0][1] < MIN_EVIDENCE:
            return MetierDecision(None, 0.0, ("métier: aucun indice",))
        for m in called:
            if m in symptom_of_called:
                scores[m] = scores.get(m, 0.0) + STRONG_PRIOR
            else:
                scores[m] = scores.get(m, CLASSIFIER_WEIGHT * proba.get(m, 0.0)) + PRIOR
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        if not ranked:
            return MetierDecision(None, 0.0, ("métier: aucun indice",))
        best, best_score = str(ranked[0][0]), ranked[0][1]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if best_score < MIN_METIER_SCORE or (not lex and best_score - second < 0.1):
            return MetierDecision(None, 0.0, ("métier: indices trop faibles",))
        conf = 1.0 - math.exp(-MARGIN_SCALE * (best_score - second))
        reasons = []
        words = [h.text for h in hits if h.slug == best]
        if words:
            reasons.append(f"métier {best}: « {' », « '.join(words[:4])} »")
        else:
            reasons.append(f"métier {best}: classifieur ({proba.get(best, 0.0):.2f})")
        if best in called:
            reasons.append(f"métier {best}: métier de la fiche appelée")
        return MetierDecision(best, round(conf, 3), tuple(reasons))

    # -- urgency ---------------------------------------------------------------------
    @staticmethod
    def urgency(a: Analysis, intent: str) -> tuple[str, list[str]]:
        if intent not in {"quote_request", "follow_up"}:
            return "normal", []
        if a.marker("urgency:not_urgent"):
            return "normal", ["urgence: « pas urgent »"]
        for level, label in (("soon", "urgency:mild"), ("urgent", "urgency:urgent"),
                             ("soon", "urgency:soon")):
            if a.marker(label):
                return level, [f"urgence {level}: « {a.hits[label][0]} »"]
        return "normal", []

    # -- the decision ------------------------------------------------------------------
    def understand(self, text: str, *, called_metiers: list[str] | None = None) -> Understanding:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        if len(text) > MAX_TRANSCRIPT_CHARS:
            # far longer than any voicemail (10 minutes ≈ 9,000 characters): not a message
            # a caller left; looked at, never shared
            u = self.understand(text[:MAX_TRANSCRIPT_CHARS], called_metiers=called_metiers)
            return dataclasses.replace(
                u, shareable=False, confidence=min(u.confidence, 0.5),
                reasons=(*u.reasons, "non partageable: texte trop long pour un message vocal"))
        a = analyse(text)
        if a.content_words == 0 or a.lang == "none":
            return Understanding("empty", False, 0.95, None, "normal",
                                 ("message vide ou sans contenu",), a.lang)
        if a.lang == "other":
            return Understanding("other", False, 0.5, None, "normal",
                                 ("langue non prise en charge",), a.lang)
        proba = self.models.intent_proba(a)
        intent = str(max(proba, key=proba.get))
        lex_scores, _ = a.trades()
        if intent == "empty" and not a.marker("intent:empty") and (
                a.marker("urgency:urgent") or lex_scores
                or (a.marker("intent:quote_request") and any_trade_word(a.keys))):
            # a short message naming a trade or a need ("j'ai une fuite") is not empty
            intent = str(max((i for i in proba if i != "empty"), key=proba.get))
        asks = (a.marker("intent:quote_request") or a.marker("urgency:urgent")
                or a.marker("urgency:soon"))
        other_signs = any(a.marker(f"intent:{i}") for i in INTENTS if i != "quote_request")
        if (intent in {"other", "empty"} or proba[intent] < UNSURE) and asks and not other_signs \
                and max(lex_scores.values(), default=0.0) >= STRONG_TRADE_EVIDENCE:
            # a message describing a need in a trade's words ("le cumulus ne chauffe plus"),
            # with no sign of anything else, is a request; its low probability keeps the
            # confidence low, so routing sends it to moderation before sharing it
            intent = "quote_request"
        if not a.marker("intent:quote_request"):
            # unmistakable phrases win over the classifier: "mauvais numéro", "appuyez sur 1"
            for forced in ("wrong_number", "commercial_solicitation"):
                if a.marker(f"forced:{forced}") and intent != forced:
                    intent = forced
                    break
        reasons = [f"intention {intent} ({proba[intent]:.2f})"]
        for i in INTENTS:
            found = a.hits.get(f"intent:{i}", [])
            if found and i == intent:
                reasons.append(f"indices {i}: « {' », « '.join(found[:3])} »")

        metier = MetierDecision(None, 0.0, ())
        if intent in {"quote_request", "follow_up"} or (
                intent in {"personal", "other"}
                and max(lex_scores.values(), default=0.0) >= STRONG_TRADE_EVIDENCE):
            # the trade is reported whenever the message clearly asks for a trade's work,
            # shared or not ("salut c'est Jean-Pierre, passe voir mon chauffe-eau")
            metier = self.metier(a, called_metiers)
            reasons += metier.reasons

        guards = a.guards()
        shareable = False
        confidence = proba[intent]
        if intent == "quote_request":
            if metier.slug is None:
                reasons.append("non partageable: métier inconnu")
            elif not taxonomy()[metier.slug]["shareable"]:
                reasons.append(f"non partageable: {metier.slug} n'est jamais partagé (santé)")
            elif guards:
                reasons += [f"non partageable: {g}" for g in guards]
            elif a.longest_content_word < MIN_SHARED_WORD:
                # only abbreviations ("ct", "wc"): too little to tell a request from noise
                reasons.append("non partageable: aucun mot assez long pour juger")
            elif a.unreadable > MAX_UNREADABLE:
                # a trade's word among bytes that are not text ("¤\x07fuite\x9f…"): noise
                # that happens to spell a word, not a message someone left
                reasons.append("non partageable: texte en partie illisible")
            else:
                shareable = True
                called_known = bool(called_metiers)
                confidence = calibrated(proba[intent], metier.confidence,
                                        metier.slug in (called_metiers or []), called_known)
                if confidence is None:  # no calibration shipped: the raw evidence
                    confidence = proba[intent] * metier.confidence
                elif called_known and metier.slug not in called_metiers:
                    # a trade the called listing does not have: the trade's evidence cannot
                    # make up for a doubt about the message being a request at all (the
                    # professional's insurer, accountant or bank are trades too)
                    confidence = min(confidence, proba[intent])
                reasons.append("partageable: demande de service sans lien avec ce professionnel")
        urgency, why = self.urgency(a, intent)
        reasons += why
        return Understanding(intent, shareable, round(float(confidence), 3), metier.slug,
                             urgency, tuple(reasons), a.lang)


_lock = threading.Lock()
_default: Understander | None = None
_checked_at = 0.0
# How often a long-running worker looks whether the models were retrained
# (``relais train_classifier`` in another process): seconds.
RELOAD_CHECK_SECONDS = 60.0


def get_understander() -> Understander:
    """The process-wide understander, trained or loaded from the cache at first use, and
    reloaded when the training data changed (new extra examples) since."""
    global _default, _checked_at
    now = time.monotonic()
    if _default is not None and now - _checked_at < RELOAD_CHECK_SECONDS:
        return _default
    with _lock:
        if _default is None or now - _checked_at >= RELOAD_CHECK_SECONDS:
            _checked_at = now
            if _default is None or training_rows()[1] != _default.models.key:
                _default = Understander(load_or_train())
    return _default


def reset_understander() -> None:
    """Forget the loaded models (after ``relais train_classifier``)."""
    global _default, _checked_at
    with _lock:
        _default = None
        _checked_at = 0.0


def understand(text: str, *, called_metiers: list[str] | None = None) -> Understanding:
    """Decide what a voicemail transcript is; never raises on any text."""
    return get_understander().understand(text, called_metiers=called_metiers)
