""""Pas pour moi": feedback data and its export for retraining the classifier."""

import json

import pytest
from django.core.management import call_command

from relais.core import audit
from relais.core.models import AuditEvent
from relais.directory.models import Metier
from relais.routing import services
from relais.routing.models import Feedback
from tests import factories as f
from tests.factories import NANTES, offset

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared_delivery():
    called = f.listing(*NANTES, ["plombier"], email="a@example.fr")
    f.listing(*offset(*NANTES, 4), ["plombier"], email="b@example.fr")
    _own, (shared,) = f.route(f.voicemail(called))
    return shared


def test_record_feedback_stores_it_once_per_kind(shared_delivery):
    fb = services.record_feedback(shared_delivery, "wrong_metier", "C'est pour un chauffagiste",
                                  suggested_metier=Metier.objects.get(slug="chauffagiste"))
    assert (fb.kind, fb.predicted_metier, fb.suggested_metier_id) == (
        "wrong_metier", "plombier", "chauffagiste")
    again = services.record_feedback(shared_delivery, "wrong_metier", "précision")
    assert again.pk == fb.pk and again.comment == "précision"
    services.record_feedback(shared_delivery, "not_a_request")
    assert Feedback.objects.count() == 2
    with pytest.raises(ValueError, match="unknown feedback kind"):
        services.record_feedback(shared_delivery, "spam")


def test_feedback_exports_as_labelled_jsonl_with_the_redacted_text_only(shared_delivery, tmp_path):
    services.record_feedback(shared_delivery, "not_a_request", "publicité")
    services.record_feedback(shared_delivery, "wrong_metier",
                             suggested_metier=Metier.objects.get(slug="chauffagiste"))
    lines = list(services.feedback_jsonl())
    examples = [json.loads(line) for line in lines]
    assert [e["feedback"] for e in examples] == ["not_a_request", "wrong_metier"]
    not_request, wrong = examples
    assert not_request["text"] == f.REDACTED and not_request["shareable"] is False
    assert not_request["intent"] is None and not_request["comment"] == "publicité"
    assert wrong["metier"] == "chauffagiste" and wrong["not_metier"] == "plombier"
    for line in lines:
        assert f.CALLER not in line and "Bensaïd" not in line and "06 12" not in line
    out = tmp_path / "extra.jsonl"
    call_command("export_feedback", output=str(out))
    assert out.read_text(encoding="utf-8").splitlines() == [line.rstrip("\n") for line in lines]
    # Every redacted text read by the export is audited (two exports × two examples).
    reads = AuditEvent.objects.filter(action=audit.READ_REDACTED, delivery_id=shared_delivery.pk)
    assert reads.count() == 4
    assert {(e.actor_kind, e.actor_label) for e in reads} == {("system", "feedback-export")}


@pytest.mark.parametrize("command", ["export_feedback", "retrain_from_feedback"])
def test_a_malformed_since_date_is_refused_clearly(command):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--since must be YYYY-MM-DD, not 'hier'"):
        call_command(command, since="hier")


def test_since_keeps_only_later_feedback(shared_delivery, tmp_path):
    services.record_feedback(shared_delivery, "not_a_request")
    out = tmp_path / "later.jsonl"
    call_command("export_feedback", output=str(out), since="2999-01-01")
    assert out.read_text(encoding="utf-8") == ""
    call_command("export_feedback", output=str(out), since="2000-01-01")
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1
