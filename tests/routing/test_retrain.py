"""Retraining the classifier from "pas pour moi" feedback (relais retrain_from_feedback)."""

import json

import pytest
from django.core.management import call_command

from relais.directory.models import Metier
from relais.routing import services
from relais.routing.models import Delivery
from relais.voicemail.models import Voicemail
from relais.voicemail.understanding import model
from relais.voicemail.understanding.decide import get_understander, reset_understander
from relais.voicemail.understanding.features import analyse
from tests import factories as f
from tests.factories import NANTES, offset

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

BOILER = ("Bonjour, ma chaudière à gaz se met en sécurité toutes les nuits et le brûleur "
          "claque, pouvez-vous passer la régler ? Je suis [nom], au [numéro].")
RAFFLE = ("Bonjour, c'est pour la tombola de l'amicale des sapeurs du quartier, vous "
          "prendrez bien un carnet de billets ? Rappelez [nom] au [numéro].")


def shared_delivery(text: str, intent: str = "quote_request") -> Delivery:
    """A shared request in its own town (200 km from the others)."""
    here = offset(*NANTES, 0, 200 * Delivery.objects.count())
    called = f.listing(*here, ["plombier"])
    f.listing(*offset(*here, 3), ["plombier"])
    vm = f.voicemail(called, intent=intent)
    Voicemail.objects.filter(pk=vm.pk).update(redacted_text=text)
    _own, (shared,) = f.route(vm)
    return shared


def test_feedback_becomes_training_rows():
    boiler, raffle, vague = (shared_delivery(BOILER), shared_delivery(RAFFLE),
                             shared_delivery("Bonjour, une question sur un devis."))
    services.record_feedback(boiler, "wrong_metier",
                             suggested_metier=Metier.objects.get(slug="chauffagiste"))
    services.record_feedback(raffle, "not_a_request", "démarchage")
    services.record_feedback(vague, "wrong_metier")  # no suggestion: nothing to learn
    rows, skipped = services.feedback_training_rows()
    assert rows == [
        {"text": BOILER, "intent": "quote_request", "metier": "chauffagiste"},
        {"text": RAFFLE, "intent": "other", "metier": None},
    ]
    assert len(skipped) == 1 and "without a suggested" in skipped[0]


def test_retrain_from_feedback_changes_the_training_data_and_the_model(trained_models,
                                                                       tmp_path, capsys):
    boiler, raffle = shared_delivery(BOILER), shared_delivery(RAFFLE)
    services.record_feedback(boiler, "wrong_metier",
                             suggested_metier=Metier.objects.get(slug="chauffagiste"))
    services.record_feedback(raffle, "not_a_request")
    base = trained_models
    before_metier = base.metier_proba(analyse(BOILER))["chauffagiste"]
    before_other = base.intent_proba(analyse(RAFFLE))["other"]
    try:
        call_command("retrain_from_feedback")
        out = capsys.readouterr().out
        assert "2 example(s) added" in out
        stored = [json.loads(line) for line in
                  (tmp_path / model.EXTRA_FILE_NAME).read_text().splitlines()]
        assert stored == [
            {"text": BOILER, "intent": "quote_request", "metier": "chauffagiste"},
            {"text": RAFFLE, "intent": "other", "metier": None},
        ]
        rows, _key = model.training_rows()
        assert {"text": BOILER, "intent": "quote_request", "metier": "chauffagiste"} in rows
        trained = get_understander().models
        assert trained.key != base.key and trained.n_examples == base.n_examples + 2
        assert trained.metier_proba(analyse(BOILER))["chauffagiste"] > before_metier
        assert trained.intent_proba(analyse(RAFFLE))["other"] > before_other
        # Run again: nothing added twice, same model.
        call_command("retrain_from_feedback")
        assert "0 example(s) added, 2 already known" in capsys.readouterr().out
        assert len((tmp_path / model.EXTRA_FILE_NAME).read_text().splitlines()) == 2
        assert get_understander().models.key == trained.key
    finally:
        reset_understander()


def test_dry_run_adds_nothing(settings, tmp_path, capsys):
    settings.RELAIS_MODEL_CACHE = tmp_path
    services.record_feedback(shared_delivery(RAFFLE), "not_a_request")
    call_command("retrain_from_feedback", "--dry-run")
    assert json.loads(capsys.readouterr().out) == {"text": RAFFLE, "intent": "other",
                                                   "metier": None}
    assert not (tmp_path / model.EXTRA_FILE_NAME).exists()
