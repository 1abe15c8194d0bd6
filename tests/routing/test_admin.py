"""Admin: decisions with reasons, the moderation queue, deliveries and their states."""

import pytest
from django.urls import reverse

from relais.core.models import AuditEvent
from relais.routing import services
from relais.routing.models import Delivery, RoutingDecision
from tests import factories as f
from tests.factories import NANTES, offset

pytestmark = pytest.mark.django_db


@pytest.fixture
def moderated(settings):
    settings.RELAIS_PUBLIC_URL = "http://testserver"
    called = f.listing(*NANTES, ["plombier"], email="appele@example.fr")
    neighbours = [f.listing(*offset(*NANTES, 3 + i), ["plombier"], email=f"n{i}@example.fr")
                  for i in range(2)]
    vm = f.voicemail(called, confidence=0.5)
    return services.route_voicemail(vm), neighbours


def test_the_moderation_queue_lists_pending_messages_and_its_page_is_audited(
        admin_client, admin_user, moderated):
    decision, _ = moderated
    listing = admin_client.get(reverse("admin:routing_moderationitem_changelist"))
    assert listing.status_code == 200
    assert decision.voicemail.reference in listing.content.decode()
    assert f.REDACTED not in listing.content.decode()  # no text on the list
    page = admin_client.get(reverse("admin:routing_moderationitem_change", args=[decision.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "[numéro]" in html and f.CALLER_FR not in html and "Bensaïd" not in html
    assert "Approuver le partage" in html and "under_threshold" in html
    event = AuditEvent.objects.get(action="redacted.read")
    assert (event.actor_kind, event.actor_user_id) == ("operator", admin_user.pk)


def test_approving_from_the_admin_shares_and_is_audited(admin_client, admin_user, moderated):
    decision, neighbours = moderated
    url = reverse("admin:routing_moderationitem_change", args=[decision.pk])
    response = admin_client.post(url, {"_approve": "1"})
    assert response.status_code == 302
    decision.refresh_from_db()
    assert (decision.outcome, decision.moderation) == ("shared", "approved")
    shared = Delivery.objects.filter(voicemail=decision.voicemail, kind="shared")
    assert sorted(d.listing_id for d in shared) == sorted(n.pk for n in neighbours)
    assert AuditEvent.objects.filter(action="moderation.approved",
                                     actor_user_id=admin_user.pk).count() == 1
    # Gone from the queue.
    queue = admin_client.get(reverse("admin:routing_moderationitem_changelist"))
    assert decision.voicemail.reference not in queue.content.decode()


def test_rejecting_with_the_list_action(admin_client, moderated):
    decision, _ = moderated
    response = admin_client.post(reverse("admin:routing_moderationitem_changelist"), {
        "action": "reject", "_selected_action": [decision.pk]})
    assert response.status_code == 302
    decision.refresh_from_db()
    assert (decision.outcome, decision.moderation) == ("own_only", "rejected")
    assert Delivery.objects.filter(voicemail=decision.voicemail).count() == 1
    assert AuditEvent.objects.filter(action="moderation.rejected").count() == 1


def test_an_operator_without_permission_cannot_moderate(client, django_user_model, moderated):
    decision, _ = moderated
    staff = django_user_model.objects.create_user("staff", password="x-long-password-1",
                                                  is_staff=True)
    client.force_login(staff)
    url = reverse("admin:routing_moderationitem_change", args=[decision.pk])
    assert client.post(url, {"_approve": "1"}).status_code == 403
    decision.refresh_from_db()
    assert decision.moderation == "pending"


def test_decision_and_delivery_pages_show_reasons_read_only(admin_client, moderated):
    decision, _ = moderated
    services.approve_moderation(decision, decision.voicemail.listing.professional.user)
    page = admin_client.get(reverse("admin:routing_routingdecision_change", args=[decision.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "moderation_approved" in html and "Plombier à 3,0 km" in html
    assert 'name="_save"' not in html  # read-only
    assert admin_client.post(reverse("admin:routing_routingdecision_change",
                                     args=[decision.pk]), {}).status_code == 403
    listing = admin_client.get(reverse("admin:routing_delivery_changelist") + "?status=pending")
    assert listing.status_code == 200 and decision.voicemail.reference in listing.content.decode()


def test_resend_action_for_failed_deliveries(admin_client, admin_user, moderated):
    decision, _ = moderated
    own = Delivery.objects.get(voicemail=decision.voicemail)
    Delivery.objects.filter(pk=own.pk).update(status="failed", attempts=60,
                                              last_error="SMTPRecipientsRefused")
    response = admin_client.post(reverse("admin:routing_delivery_changelist"), {
        "action": "resend", "_selected_action": [own.pk]})
    assert response.status_code == 302
    own.refresh_from_db()
    assert (own.status, own.attempts) == ("pending", 0)
    assert AuditEvent.objects.filter(action="delivery.resent", delivery_id=own.pk).exists()


def test_caller_reports_show_no_number(admin_client):
    pro = f.professional()
    services.report_caller(pro, f.CALLER, "insultes")
    html = admin_client.get(reverse("admin:routing_callerreport_changelist")).content.decode()
    assert "insultes" in html and f.CALLER not in html and f.CALLER_FR not in html
    assert services.caller_hash(f.CALLER) != services.caller_hash("+33698765432")
    assert len(services.caller_hash(f.CALLER)) == 64


def test_routing_decision_has_a_readable_reason(moderated):
    decision, _ = moderated
    assert isinstance(decision, RoutingDecision)
    assert "inférieure au seuil" in decision.reason_text
