"""Instant emails go in batches: one SMTP connection per batch, each email still once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from relais.core import jobs
from relais.core.models import AuditEvent
from relais.routing import notifications, services
from relais.routing.models import Delivery
from tests import factories as f
from tests.factories import NANTES, offset
from tests.helpers import drain

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def six(db):
    """A called plumber and five neighbours, all instant."""
    called = f.listing(*NANTES, ["plombier"], email="appele@example.fr")
    for i in range(5):
        f.listing(*offset(*NANTES, 2 + i), ["plombier"], email=f"voisin{i}@example.fr")
    return called


def test_a_batch_shares_one_connection_and_sends_each_email_once(smtp, six, settings):
    settings.RELAIS_NOTIFY_BATCH_SIZE = 4
    vm = f.voicemail(six)
    services.route_voicemail(vm)
    created = list(Delivery.objects.filter(voicemail=vm))
    assert len(created) == 6
    assert notifications.dispatch(created) == 6
    drain()
    assert set(Delivery.objects.filter(voicemail=vm).values_list("status", flat=True)) == {
        "sent"}
    assert len(smtp.mailbox.messages) == 6
    # two batches (4 + 2): two connections, not six
    assert len(set(smtp.mailbox.peers)) == 2
    assert sorted(smtp.mailbox.peers.count(p) for p in set(smtp.mailbox.peers)) == [2, 4]
    assert AuditEvent.objects.filter(voicemail_id=vm.pk, action="email.sent").count() == 6
    # sending the batch again finds nothing to claim
    again = notifications.send_batch([str(d.pk) for d in created])
    assert again == {"skipped": 6}
    assert len(smtp.mailbox.messages) == 6


def test_a_batch_takes_only_what_it_can_claim_and_retries_a_refusal_alone(
        smtp, six, settings):
    settings.RELAIS_RETRY_BASE_SECONDS = 60
    vm = f.voicemail(six)
    services.route_voicemail(vm)
    created = sorted(Delivery.objects.filter(voicemail=vm), key=lambda d: d.email)
    held, refused = created[:2]
    # another worker holds one of them
    assert jobs.claim(Delivery.objects.filter(pk=held.pk), 300)
    refusals = []

    def refuse_once(envelope):
        if refused.email in envelope.rcpt_tos and not refusals:
            refusals.append(1)
            return "451 4.3.0 try again later"
        return None

    smtp.mailbox.on_data = refuse_once
    outcome = notifications.send_batch([str(d.pk) for d in created])
    assert outcome == {"skipped": 1, "retry": 1, "sent": 4}
    # the refusal did not cost the others their connection
    assert len(smtp.mailbox.messages) == 4 and len(set(smtp.mailbox.peers)) <= 2
    statuses = dict(Delivery.objects.filter(voicemail=vm).values_list("pk", "status"))
    assert statuses[held.pk] == "pending" and statuses[refused.pk] == "pending"
    retried = Delivery.objects.get(pk=refused.pk)
    assert retried.attempts == 1 and retried.next_attempt_at > timezone.now()
    # the retry, when due, sends that one alone
    Delivery.objects.filter(pk=refused.pk).update(next_attempt_at=timezone.now())
    assert notifications.send_delivery(refused.pk) == "sent"
    assert [m["To"] for m in smtp.mailbox.messages].count(refused.email) == 1
    assert len(smtp.mailbox.messages) == 5
    # the held one stays with its worker until its lease runs out
    assert notifications.send_batch([str(held.pk)]) == {"skipped": 1}
    assert notifications.recover(timezone.now() + timedelta(minutes=10)) >= 1


def test_claim_many_returns_only_the_rows_this_call_took(six):
    vm = f.voicemail(six)
    services.route_voicemail(vm)
    created = list(Delivery.objects.filter(voicemail=vm).order_by("pk"))
    pending = Delivery.objects.filter(voicemail=vm)
    first = jobs.claim_many(pending.filter(pk__in=[d.pk for d in created[:2]]), 300)
    assert sorted(first) == sorted(d.pk for d in created[:2])
    second = jobs.claim_many(pending, 300)
    assert sorted(second) == sorted(d.pk for d in created[2:])
    assert jobs.claim_many(pending, 300) == []
    assert set(pending.values_list("attempts", flat=True)) == {1}
