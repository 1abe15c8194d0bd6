"""The project's aims, held on the corpus TEST split (never used to build the rules).

Aims (issue 4): shareable precision ≥ 97 %, recall ≥ 90 %, métier accuracy ≥ 90 % (on the
shareable examples), no
personal, billing or follow-up message shareable, no phone number, email or name left in
the redacted text.
"""

import json

import pytest

from relais.voicemail.understanding import get_understander, model
from relais.voicemail.understanding.evaluation import evaluate
from relais.voicemail.understanding.features import INTENTS
from relais.voicemail.understanding.metiers import taxonomy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def figures():
    return evaluate(model.corpus("test"), get_understander())


def test_corpus_is_well_formed_and_split_once():
    train, test = model.corpus("train"), model.corpus("test")
    assert len(train) + len(test) >= 600
    assert not {r["id"] for r in train} & {r["id"] for r in test}
    assert not {r["text"] for r in train} & {r["text"] for r in test}
    for r in train + test:
        assert set(r) >= {"id", "text", "intent", "shareable", "metier", "urgency", "lang"}
        assert r["intent"] in INTENTS
        assert r["metier"] is None or r["metier"] in taxonomy()
        assert r["shareable"] == (r["shareable"] and r["intent"] == "quote_request"
                                  and r["metier"] is not None
                                  and taxonomy()[r["metier"]]["shareable"])
        for p in r["pii"]:
            assert 0 <= p["start"] < p["end"] <= len(r["text"])
    for intent in INTENTS:  # every intent in both splits, roughly 75/25
        n_train = sum(r["intent"] == intent for r in train)
        n_test = sum(r["intent"] == intent for r in test)
        assert n_test >= 4 and 2 <= n_train / n_test <= 4.5, intent
    quote_metiers = {r["metier"] for r in train + test
                     if r["intent"] == "quote_request" and r["metier"]}
    assert len(quote_metiers) >= 60
    assert sum(r["lang"] == "en" for r in train + test) >= 20


def test_sharing_aims_hold_on_the_test_split(figures):
    print(json.dumps(figures, ensure_ascii=False))
    assert figures["personal_billing_followup_shareable"] == 0
    assert figures["shareable_precision"] >= 0.97
    assert figures["shareable_recall"] >= 0.90
    # métier accuracy on the messages that are shared (the aim: ≥ 90 %), and a floor for all
    # requests with a métier (non-shareable ones included), measured at 88.6 % — see
    # docs/benchmarks.md
    assert figures["metier_accuracy_shareable"] >= 0.90
    assert figures["metier_accuracy"] >= 0.85
    assert figures["auto_shared_precision"] >= 0.97


def test_nothing_personal_is_left_in_redacted_text(figures):
    assert figures["leaks"].get("phone", 0) == 0
    assert figures["leaks"].get("email", 0) == 0
    assert figures["leaks"].get("name", 0) == 0, figures["leak_examples"]
    assert figures["phone_like_left"] == 0 and figures["email_left"] == 0
    assert figures["town_names_redacted"] == 0
    assert figures["metier_kept_after_redaction"] >= 0.95


# --- The held-out template families (generated.py): wording training never saw ----------


@pytest.fixture(scope="module")
def heldout_figures():
    return evaluate(model.corpus("heldout"), get_understander())


def test_heldout_families_are_never_trained_on_and_cover_every_trade():
    from relais.voicemail.understanding import generated

    train, held = generated.rows("train"), generated.rows("heldout")
    assert not {r["family"] for r in train} & {r["family"] for r in held}
    assert not {r["text"] for r in train} & {r["text"] for r in held}
    training_texts = {r["text"] for r in model.training_rows(include_extra=False)[0]}
    assert not training_texts & {r["text"] for r in held}
    for rows in (train, held):
        assert {r["metier"] for r in rows if r["intent"] == "quote_request"} == set(taxonomy())
        assert {r["intent"] for r in rows} >= {"quote_request", "follow_up", "billing_or_admin",
                                               "supplier_or_delivery", "commercial_solicitation",
                                               "other"}
    assert generated.rows("heldout") == held  # deterministic


def test_routing_aims_hold_on_the_heldout_families(heldout_figures):
    """Issue 16: ≥ 90 % of genuine requests shared without a person, ≤ 1 message in 15
    sent to moderation, no message that is not a request shared automatically."""
    f = heldout_figures
    assert f["non_requests_auto_shared"] == 0
    assert f["not_shareable_auto_shared"] == 0
    assert f["requests_auto_shared"] >= 0.90
    assert f["moderation_share"] <= 1 / 15
    assert f["auto_shared_trade_accuracy"] >= 0.97
