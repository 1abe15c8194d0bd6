"""The route and notify steps through the real pipeline worker, emails over real SMTP."""

import pytest

from relais.pros.models import Listing
from relais.routing import services
from relais.routing.models import Delivery, RoutingDecision
from relais.voicemail import pipeline
from relais.voicemail.models import PipelineStep, Voicemail
from tests import factories as f
from tests.factories import CALLER, CALLER_FR, NANTES, offset
from tests.helpers import drain, recipients

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def directory(db):
    """A called plumber in Nantes and, around it, every kind of neighbour."""
    called = f.listing(*NANTES, ["plombier"], email="appele@example.fr", name="Plomberie Appelée")
    near = {}
    for key, km in [("p3", 3), ("p8", 8), ("p15", 15), ("p25", 25), ("p35", 35), ("p45", 45)]:
        near[key] = f.listing(*offset(*NANTES, km), ["plombier"], radius=60,
                              email=f"{key}@example.fr")
    near["p55"] = f.listing(*offset(*NANTES, 55), ["plombier"], radius=80, email="p55@example.fr")
    near["elec2"] = f.listing(*offset(*NANTES, 2), ["electricien"], email="elec2@example.fr")
    near["paused1"] = f.listing(*offset(*NANTES, 1), ["plombier"], paused=True,
                                email="paused1@example.fr")
    near["small20"] = f.listing(*offset(*NANTES, 20), ["plombier"], radius=10,
                                email="small20@example.fr")
    near["pending2"] = f.listing(*offset(*NANTES, 2), ["plombier"],
                                 status=Listing.Status.PENDING, email="pending2@example.fr")
    near["closed4"] = f.listing(*offset(*NANTES, 4), ["plombier"], active=False,
                                email="closed4@example.fr")
    near["reporter4"] = f.listing(*offset(*NANTES, 4.5), ["plombier"],
                                  email="reporter4@example.fr")
    services.report_caller(near["reporter4"].professional, CALLER, "démarchage")
    near["noemail6"] = f.listing(*offset(*NANTES, 6), ["plombier"],
                                 pro=f.professional(email=""))
    near["sister1"] = f.listing(*offset(*NANTES, 1.5), ["plombier"], pro=called.professional,
                                email="soeur@example.fr")
    return called, near


def run(vm):
    pipeline.start(vm)
    drain()
    vm.refresh_from_db()
    return vm


def test_a_shareable_request_goes_to_the_called_plumber_and_the_5_nearest_eligible(
        routing_steps, smtp, directory):
    called, near = directory
    vm = run(f.voicemail(called))
    assert vm.status == Voicemail.Status.DONE
    assert [s.status for s in PipelineStep.objects.filter(voicemail=vm)] == ["done", "done"]

    decision = RoutingDecision.objects.get(voicemail=vm)
    assert decision.outcome == "shared"
    assert [r["code"] for r in decision.reasons] == ["share_ok"]
    assert decision.facts["radius_km"] == 50 and decision.facts["metier"] == "plombier"
    excluded = {e["code"] for e in decision.excluded}
    assert "reported_caller" in excluded

    own = Delivery.objects.get(voicemail=vm, kind="own")
    assert (own.listing, own.rank, own.status) == (called, 0, "sent")
    shared = list(Delivery.objects.filter(voicemail=vm, kind="shared").exclude(status="skipped")
                  .order_by("rank"))
    assert [d.listing for d in shared] == [near[k] for k in ("p3", "p8", "p15", "p25", "p35")]
    assert [d.rank for d in shared] == [1, 2, 3, 4, 5]
    assert all(d.status == "sent" and d.sent_at for d in shared)
    assert shared[0].distance_km == pytest.approx(3, abs=0.01)
    assert shared[0].reason["metier"] == "plombier" and shared[0].reason["rank"] == 1
    assert "Plombier à 3,0 km" in shared[0].reason["text"]
    skipped = Delivery.objects.get(voicemail=vm, status="skipped")
    assert skipped.listing == near["noemail6"] and "e-mail" in skipped.status_reason

    # Exactly the called plumber + 5 neighbours got one email each; nobody else.
    assert recipients(smtp.mailbox) == sorted([
        "appele@example.fr", "p3@example.fr", "p8@example.fr", "p15@example.fr",
        "p25@example.fr", "p35@example.fr"])
    own_mail = smtp.mailbox.to("appele@example.fr")[0]
    assert smtp.mailbox.subject(own_mail) == (
        "[Relais] Nouveau message pour Plomberie Appelée · Plombier · URGENT")
    assert own_mail["Message-ID"] == own.message_id
    shared_mail = smtp.mailbox.to("p3@example.fr")[0]
    assert smtp.mailbox.subject(shared_mail) == (
        "[Relais] Demande partagée : Plombier à 3,0 km · URGENT")
    for mail in smtp.mailbox.messages:
        for body in (smtp.mailbox.text(mail), smtp.mailbox.html(mail)):
            assert "http://testserver/r/" in body
            assert CALLER not in body and CALLER_FR not in body and "Bensaïd" not in body
    assert "[numéro]" in smtp.mailbox.text(shared_mail)  # the redacted text, not the raw one


def test_private_consent_reaches_only_the_called_professional(routing_steps, smtp, directory):
    called, _ = directory
    vm = run(f.voicemail(called, consent="private"))
    decision = RoutingDecision.objects.get(voicemail=vm)
    assert (decision.outcome, [r["code"] for r in decision.reasons]) == (
        "own_only", ["consent_private"])
    assert list(Delivery.objects.filter(voicemail=vm).values_list("kind", flat=True)) == ["own"]
    assert recipients(smtp.mailbox) == ["appele@example.fr"]


def test_a_message_that_is_not_a_request_stays_with_the_called_professional(
        routing_steps, smtp, directory):
    called, _ = directory
    vm = run(f.voicemail(called, shareable=False, intent="billing_or_admin", metier=None))
    assert RoutingDecision.objects.get(voicemail=vm).outcome == "own_only"
    assert recipients(smtp.mailbox) == ["appele@example.fr"]


def test_a_health_request_is_never_shared(routing_steps, smtp):
    called = f.listing(*NANTES, ["infirmier"], email="infirmiere@example.fr")
    f.listing(*offset(*NANTES, 2), ["infirmier"], email="voisine@example.fr")
    vm = run(f.voicemail(called, metier="infirmier", confidence=0.99))
    decision = RoutingDecision.objects.get(voicemail=vm)
    assert [r["code"] for r in decision.reasons] == ["metier_not_shareable"]
    assert recipients(smtp.mailbox) == ["infirmiere@example.fr"]


def test_under_the_threshold_the_request_waits_for_an_operator_who_approves(
        routing_steps, smtp, directory, admin_user):
    called, near = directory
    vm = run(f.voicemail(called, confidence=0.55))
    decision = RoutingDecision.objects.get(voicemail=vm)
    assert (decision.outcome, decision.moderation) == ("moderation", "pending")
    assert recipients(smtp.mailbox) == ["appele@example.fr"]  # the called pro never waits

    created = services.approve_moderation(decision, admin_user)
    drain()
    assert [d.listing for d in created] == [near[k] for k in ("p3", "p8", "p15", "p25", "p35")]
    decision.refresh_from_db()
    assert (decision.outcome, decision.moderation, decision.moderated_by) == (
        "shared", "approved", admin_user)
    assert [r["code"] for r in decision.reasons] == ["under_threshold", "moderation_approved"]
    assert len(recipients(smtp.mailbox)) == 6
    with pytest.raises(services.ModerationError):
        services.approve_moderation(decision, admin_user)  # once only


def test_an_operator_rejection_keeps_it_with_the_called_professional(
        routing_steps, smtp, directory, admin_user):
    called, _ = directory
    vm = run(f.voicemail(called, confidence=0.55))
    decision = RoutingDecision.objects.get(voicemail=vm)
    services.reject_moderation(decision, admin_user)
    drain()
    decision.refresh_from_db()
    assert (decision.outcome, decision.moderation) == ("own_only", "rejected")
    assert Delivery.objects.filter(voicemail=vm).count() == 1
    assert recipients(smtp.mailbox) == ["appele@example.fr"]


def test_routing_twice_changes_nothing(routing_steps, smtp, directory):
    called, _ = directory
    vm = run(f.voicemail(called))
    before = sorted(Delivery.objects.filter(voicemail=vm).values_list("pk", "status"))
    services.route_voicemail(vm)  # a re-run of the step (e.g. after a crash)
    pipeline.run_step.enqueue(str(vm.pk), "notify")
    drain()
    assert sorted(Delivery.objects.filter(voicemail=vm).values_list("pk", "status")) == before
    assert RoutingDecision.objects.filter(voicemail=vm).count() == 1
    assert len(smtp.mailbox.messages) == 6


def test_a_voicemail_without_a_listing_is_routed_to_nobody(routing_steps, smtp):
    vm = run(f.voicemail(None))
    decision = RoutingDecision.objects.get(voicemail=vm)
    assert decision.outcome == "own_only"
    assert "no_called_listing" in [r["code"] for r in decision.reasons]
    assert not Delivery.objects.filter(voicemail=vm).exists()
    assert smtp.mailbox.messages == []


def test_cap_and_radius_follow_the_operator_settings(routing_steps, smtp, directory, settings):
    settings.RELAIS_ROUTING_MAX_RECIPIENTS = 2
    settings.RELAIS_ROUTING_RADIUS_KM = 5
    called, near = directory
    vm = run(f.voicemail(called))
    shared = Delivery.objects.filter(voicemail=vm, kind="shared", status="sent")
    assert [d.listing for d in shared.order_by("rank")] == [near["p3"]]
