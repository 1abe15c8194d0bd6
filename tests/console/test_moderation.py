"""The console's moderation queue: what it shows, the decisions, audit and training."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from relais.console import moderation
from relais.console.models import ModerationVerdict
from relais.core.models import AuditEvent
from relais.routing.models import Delivery, RoutingDecision
from relais.voicemail.models import Voicemail
from tests import factories as f


@pytest.fixture
def queue(db):
    called = f.listing(*f.NANTES, ["plombier"], email="appele@example.fr")
    f.listing(*f.offset(*f.NANTES, 6), ["plombier"], email="voisin@example.fr",
              name="Plomberie Voisine")
    f.listing(*f.offset(*f.NANTES, 4), ["electricien"], email="elec@example.fr",
              name="Élec Proche")
    vms = [f.voicemail(called, confidence=0.5) for _ in range(2)]
    for vm in vms:
        f.route(vm)
    return [RoutingDecision.objects.get(voicemail=vm) for vm in vms]


def test_an_item_shows_text_audio_metier_and_recipients_and_is_audited(client, queue):
    ops = f.superuser()
    client.force_login(ops)
    page = client.get(reverse("console:moderation")).content.decode()
    assert page.count(reverse("console:moderation_item", args=[queue[0].pk])) >= 2
    response = client.get(reverse("console:moderation_item", args=[queue[0].pk]))
    html = response.content.decode()
    assert f.REDACTED.replace("'", "&#x27;") in html
    assert f.CALLER not in html and f.TRANSCRIPT not in html
    assert reverse("admin:voicemail_media", args=[queue[0].voicemail_id, "audio"]) in html
    assert "0,50" in html or "0.50" in html
    assert "Plomberie Voisine" in html and "Élec Proche" not in html
    assert 'id="approuver"' in html and "moderation.js" in html
    assert response.context["it"].alternatives  # the classifier's next guesses
    assert AuditEvent.objects.filter(voicemail_id=queue[0].voicemail_id,
                                     action="redacted.read",
                                     detail__via="console-moderation").count() == 1


def test_change_the_metier_then_share_audited_and_fed_to_training(client, queue):
    ops = f.superuser()
    client.force_login(ops)
    first, second = queue
    response = client.post(reverse("console:moderation_item", args=[first.pk]),
                           {"action": "change", "metier": "electricien"})
    assert response.status_code == 302  # to the next item
    assert response["Location"] == reverse("console:moderation_item", args=[second.pk])
    vm = Voicemail.objects.get(pk=first.voicemail_id)
    assert vm.metier_id == "electricien"
    first.refresh_from_db()
    assert first.moderation == "approved"
    shared = Delivery.objects.filter(voicemail=vm, kind="shared")
    assert [d.listing.establishment.name for d in shared] == ["Élec Proche"]
    actions = set(AuditEvent.objects.filter(voicemail_id=vm.pk).values_list("action", flat=True))
    assert {"moderation.metier_changed", "moderation.approved"} <= actions
    verdict = ModerationVerdict.objects.get()
    assert (verdict.action, verdict.predicted_metier, verdict.metier) == (
        "change", "plombier", "electricien")
    rows, skipped = moderation.training_rows()
    assert rows == [{"text": f.REDACTED, "intent": "quote_request", "metier": "electricien"}]
    assert skipped == []

    response = client.post(reverse("console:moderation_item", args=[second.pk]),
                           {"action": "reject"})
    assert response["Location"] == reverse("console:moderation")
    second.refresh_from_db()
    assert second.moderation == "rejected"
    assert not Delivery.objects.filter(voicemail_id=second.voicemail_id, kind="shared").exists()
    assert moderation.training_rows()[0] == rows  # a refusal teaches no label
    # the same item again: refused with a clear message, nothing changes
    response = client.post(reverse("console:moderation_item", args=[second.pk]),
                           {"action": "approve"}, follow=True)
    assert "attend pas de modération" in response.content.decode()
    assert ModerationVerdict.objects.count() == 2


def test_bad_decisions_change_nothing(client, queue):
    client.force_login(f.superuser())
    item = queue[0]
    for data in ({"action": "change", "metier": "inconnu"}, {"action": "delete"}):
        response = client.post(reverse("console:moderation_item", args=[item.pk]), data,
                               follow=True)
        assert response.status_code == 200
        item.refresh_from_db()
        assert item.moderation == "pending"
    assert Voicemail.objects.get(pk=item.voicemail_id).metier_id == "plombier"
    assert not ModerationVerdict.objects.exists()


def test_a_viewer_cannot_decide(client, queue):
    client.force_login(f.staff("lecteur", ["view_routingdecision"]))
    url = reverse("console:moderation_item", args=[queue[0].pk])
    assert 'id="approuver"' not in client.get(url).content.decode()
    assert client.post(url, {"action": "approve"}).status_code == 403
    queue[0].refresh_from_db()
    assert queue[0].moderation == "pending"


def test_retrain_from_moderation_dry_run_prints_the_rows(client, queue):
    ops = f.superuser()
    moderation.decide(queue[0], ops, "approve")
    out, err = io.StringIO(), io.StringIO()
    call_command("retrain_from_moderation", "--dry-run", stdout=out, stderr=err)
    assert '"metier": "plombier"' in out.getvalue()
    assert "1 row(s), 0 skipped (dry run)." in err.getvalue()


@pytest.fixture
def unreliable(db):
    """A message whose transcript is uncertain (routed to moderation for that reason)."""
    called = f.listing(*f.NANTES, ["plombier"], email="appele@example.fr")
    f.listing(*f.offset(*f.NANTES, 6), ["plombier"], email="voisin@example.fr")
    vm = f.voicemail(called)
    Voicemail.objects.filter(pk=vm.pk).update(transcript_reliable=False)
    vm.refresh_from_db()
    f.route(vm)
    decision = RoutingDecision.objects.get(voicemail=vm)
    assert decision.moderation == "pending"
    assert "transcript_unreliable" in {r["code"] for r in decision.reasons}
    return decision


def test_an_uncertain_transcript_says_so_and_needs_a_listener_to_share(client, unreliable):
    url = reverse("console:moderation_item", args=[unreliable.pk])
    deaf = f.staff("sourd", ["view_routingdecision", "change_routingdecision"])
    client.force_login(deaf)
    assert "transcription incertaine" in client.get(reverse("console:moderation")).content.decode()
    html = client.get(url).content.decode()
    assert "Transcription incertaine — écoutez le message" in html
    assert "vous ne pouvez que refuser" in html
    for data in ({"action": "approve"}, {"action": "change", "metier": "electricien"}):
        page = client.post(url, data, follow=True).content.decode()
        assert "Transcription incertaine" in page and "peut approuver" in page
        unreliable.refresh_from_db()
        assert unreliable.moderation == "pending"
    assert Voicemail.objects.get(pk=unreliable.voicemail_id).metier_id == "plombier"
    assert not Delivery.objects.filter(voicemail_id=unreliable.voicemail_id,
                                       kind="shared").exists()
    assert not ModerationVerdict.objects.exists()
    with pytest.raises(moderation.ModerationError):
        moderation.decide(unreliable, deaf, "approve")
    # Refusing to share needs no listening; someone who can listen may share.
    listener = f.staff("oreille", ["view_routingdecision", "change_routingdecision",
                                   "view_voicemail"])
    client.force_login(listener)
    html = client.get(url).content.decode()
    assert "Transcription incertaine — écoutez le message" in html
    assert "vous ne pouvez que refuser" not in html
    client.post(url, {"action": "approve"})
    unreliable.refresh_from_db()
    assert unreliable.moderation == "approved"
    assert Delivery.objects.filter(voicemail_id=unreliable.voicemail_id, kind="shared").exists()


def test_a_reliable_transcript_shows_no_notice(client, queue):
    client.force_login(f.superuser())
    assert "transcription incertaine" not in client.get(
        reverse("console:moderation")).content.decode()
    html = client.get(reverse("console:moderation_item", args=[queue[0].pk])).content.decode()
    assert "Transcription incertaine" not in html


def test_the_admin_moderation_page_applies_the_same_rule(client, unreliable):
    deaf = f.staff("sourd", ["view_routingdecision", "change_routingdecision"])
    client.force_login(deaf)
    url = reverse("admin:routing_moderationitem_change", args=[unreliable.pk])
    assert "Transcription incertaine — écoutez le message" in client.get(url).content.decode()
    page = client.post(url, {"_approve": "1"}, follow=True).content.decode()
    assert "peut approuver" in page
    unreliable.refresh_from_db()
    assert unreliable.moderation == "pending"
    client.post(url, {"_reject": "1"})
    unreliable.refresh_from_db()
    assert unreliable.moderation == "rejected"
