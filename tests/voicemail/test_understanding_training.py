"""Training, caching and retraining of the understanding models."""

import json

import pytest
from django.core.management import CommandError, call_command

from relais.voicemail.understanding import model, understand
from relais.voicemail.understanding.decide import get_understander, reset_understander

pytestmark = pytest.mark.slow


def test_models_are_cached_on_disk_and_reused(trained_models, tmp_path, monkeypatch):
    cached = list(tmp_path.glob("understanding-*.joblib"))
    assert len(cached) == 1 and trained_models.key in cached[0].name
    trainings = []
    real_train = model.train
    monkeypatch.setattr(model, "train", lambda rows, key="": trainings.append(key)
                        or real_train(rows, key))
    again = model.load_or_train()
    assert again.key == trained_models.key and trainings == []  # loaded, not trained
    assert list(tmp_path.glob("understanding-*.joblib")) == cached
    # a corrupt cache file is replaced, not trusted
    cached[0].write_bytes(b"not a model")
    assert model.load_or_train().key == trained_models.key
    assert trainings == [trained_models.key]
    assert cached[0].stat().st_size > 1000
    assert model.load_or_train().key == trained_models.key and len(trainings) == 1


def test_train_classifier_adds_feedback_examples(trained_models, tmp_path):
    base = trained_models
    extra = tmp_path / "feedback.jsonl"
    extra.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in [
        {"text": "Bonjour, c'est pour la tombola de l'amicale des pompiers, un lot ?",
         "intent": "commercial_solicitation"},
        {"text": "Bonjour, je voudrais faire réparer le carillon de l'église, merci.",
         "intent": "quote_request", "metier": "horloger"},
    ]) + "\n")
    try:
        call_command("train_classifier", "--extra", str(extra), stdout=(out := _Out()))
        assert "2 added now" in out.text
        stored = (tmp_path / model.EXTRA_FILE_NAME).read_text().splitlines()
        assert len(stored) == 2
        trained = get_understander().models
        assert trained.key != base.key and trained.n_examples == base.n_examples + 2
        assert understand("Bonjour ?").intent  # the retrained models answer
    finally:
        reset_understander()


def test_train_classifier_refuses_bad_examples(settings, tmp_path):
    settings.RELAIS_MODEL_CACHE = tmp_path
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok", "intent": "nonsense"}\nnot json\n{"text": "x", '
                   '"intent": "quote_request", "metier": "astronaute"}\n')
    with pytest.raises(CommandError) as exc:
        call_command("train_classifier", "--extra", str(bad))
    assert "line 1" in str(exc.value) and "line 3" in str(exc.value)
    assert not (tmp_path / model.EXTRA_FILE_NAME).exists()  # nothing added


class _Out:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s

    def flush(self):
        pass


def test_workers_starting_together_train_once(settings, tmp_path, monkeypatch):
    """Several workers with an empty cache: one trains, the others wait and load."""
    import threading

    settings.RELAIS_MODEL_CACHE = tmp_path
    calls = []
    real_train = model.train

    def counting_train(rows, key=""):
        calls.append(key)
        return real_train(rows, key)

    monkeypatch.setattr(model, "train", counting_train)
    keys = []
    threads = [threading.Thread(target=lambda: keys.append(model.load_or_train().key))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert len(keys) == 3 and len(set(keys)) == 1
    assert len(calls) == 1  # trained once
    assert len(list(tmp_path.glob("understanding-*.joblib"))) == 1


def test_a_running_worker_picks_up_models_retrained_elsewhere(trained_models, tmp_path,
                                                             monkeypatch):
    from relais.voicemail.understanding import decide

    monkeypatch.setattr(decide, "RELOAD_CHECK_SECONDS", 0.0)
    reset_understander()
    try:
        before = get_understander().models.key
        assert get_understander().models.key == before  # nothing changed: same models
        # another process (relais train_classifier --extra …) adds examples and retrains
        (tmp_path / model.EXTRA_FILE_NAME).write_text(json.dumps(
            {"text": "Bonjour, c'est pour le loto de l'école, un lot ?", "intent": "other"}) + "\n")
        model.load_or_train(force=True)
        after = get_understander().models.key
        assert after != before
        assert get_understander().models.n_examples == len(
            model.training_rows(include_extra=False)[0]) + 1
    finally:
        reset_understander()
