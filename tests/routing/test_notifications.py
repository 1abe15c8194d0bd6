"""Notifications: exactly once over a real SMTP server, through outages and crashes."""

import os
import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from relais.core.models import AuditEvent
from relais.pros.models import Listing
from relais.routing import access, notifications, services
from relais.routing.models import Delivery, Digest
from relais.voicemail import pipeline
from relais.voicemail.models import Voicemail
from tests import factories as f
from tests.factories import NANTES, offset
from tests.helpers import (
    drain,
    make_deferred_tasks_due,
    relais,
    relais_env,
    start_relais,
)

pytestmark = pytest.mark.django_db(transaction=True)


def time_passes():
    """Make every deferred retry due now (instead of waiting for the backoff)."""
    Delivery.objects.exclude(next_attempt_at=None).update(next_attempt_at=timezone.now())
    Digest.objects.exclude(next_attempt_at=None).update(next_attempt_at=timezone.now())
    make_deferred_tasks_due()


@pytest.fixture
def pair(db):
    """A called plumber and one neighbour, both instant."""
    called = f.listing(*NANTES, ["plombier"], email="appele@example.fr")
    other = f.listing(*offset(*NANTES, 5), ["plombier"], email="voisin@example.fr")
    return called, other


def test_an_smtp_outage_delays_but_loses_nothing_then_sends_exactly_once(
        routing_steps, smtp, pair, settings):
    settings.RELAIS_RETRY_BASE_SECONDS = 60
    smtp.stop()  # the mail server is down
    vm = f.voicemail(pair[0])
    pipeline.start(vm)
    drain()
    deliveries = list(Delivery.objects.filter(voicemail=vm))
    assert len(deliveries) == 2
    for d in deliveries:
        assert (d.status, d.attempts) == ("pending", 1)
        assert "Connection refused" in d.last_error or "Errno" in d.last_error
        assert d.next_attempt_at > timezone.now() + timedelta(seconds=50)
    drain()  # not due yet: nothing happens
    assert {d.attempts for d in Delivery.objects.filter(voicemail=vm)} == {1}

    time_passes()  # still down: a second failed attempt, still nothing lost
    drain()
    assert {(d.status, d.attempts) for d in Delivery.objects.filter(voicemail=vm)} == {
        ("pending", 2)}

    smtp.start()  # back
    time_passes()
    drain()
    assert {d.status for d in Delivery.objects.filter(voicemail=vm)} == {"sent"}
    assert sorted(m["To"] for m in smtp.mailbox.messages) == ["appele@example.fr",
                                                              "voisin@example.fr"]
    # Every later chance to send again finds nothing to send.
    time_passes()
    assert notifications.recover(timezone.now() + timedelta(hours=1)) == 0
    for d in Delivery.objects.filter(voicemail=vm):
        notifications.send_delivery_task.enqueue(str(d.pk))
    drain()
    assert len(smtp.mailbox.messages) == 2
    assert AuditEvent.objects.filter(voicemail_id=vm.pk, action="email.sent").count() == 2


def test_a_failure_after_one_email_was_sent_never_resends_it(routing_steps, smtp, pair, settings):
    settings.RELAIS_RETRY_BASE_SECONDS = 60
    refused = []

    def refuse_the_neighbour_once(envelope):
        if "voisin@example.fr" in envelope.rcpt_tos and not refused:
            refused.append(1)
            return "451 4.3.0 temporary failure, try again later"
        return None

    smtp.mailbox.on_data = refuse_the_neighbour_once
    vm = f.voicemail(pair[0])
    pipeline.start(vm)
    drain()
    own = Delivery.objects.get(voicemail=vm, kind="own")
    shared = Delivery.objects.get(voicemail=vm, kind="shared")
    assert own.status == "sent" and shared.status == "pending" and shared.last_error
    # The notify step runs again (a restarted pipeline), the sweeper re-enqueues: the
    # email already accepted is never sent again.
    pipeline.run_step.enqueue(str(vm.pk), "notify")
    time_passes()
    notifications.recover()
    drain()
    assert [m["To"] for m in smtp.mailbox.messages].count("appele@example.fr") == 1
    assert [m["To"] for m in smtp.mailbox.messages].count("voisin@example.fr") == 1
    shared.refresh_from_db()
    assert (shared.status, shared.attempts) == ("sent", 2)


def test_a_permanent_refusal_fails_visibly_and_the_operator_can_resend(
        routing_steps, smtp, pair, admin_user):
    rejected = []

    def reject_the_neighbour_once(envelope):
        if "voisin@example.fr" in envelope.rcpt_tos and not rejected:
            rejected.append(1)
            return "550 5.1.1 mailbox unavailable"
        return None

    smtp.mailbox.on_data = reject_the_neighbour_once
    vm = f.voicemail(pair[0])
    pipeline.start(vm)
    drain()
    shared = Delivery.objects.get(voicemail=vm, kind="shared")
    assert (shared.status, shared.attempts) == ("failed", 1)  # no pointless retries
    assert "550" in shared.last_error
    assert notifications.resend(shared, admin_user)
    drain()
    shared.refresh_from_db()
    assert shared.status == "sent"
    assert [m["To"] for m in smtp.mailbox.messages].count("voisin@example.fr") == 1
    assert AuditEvent.objects.filter(delivery_id=shared.pk, action="delivery.resent").exists()


def test_digest_mode_sends_one_daily_email_listing_the_day_s_deliveries(
        routing_steps, smtp, settings):
    digest_pro = f.professional(email="resume@example.fr")
    mine = f.listing(*NANTES, ["plombier"], notify=Listing.Notify.DIGEST, pro=digest_pro,
                     name="Plomberie Résumé")
    caller_side = [f.listing(*offset(*NANTES, 3 + i), ["plombier"], email=f"c{i}@example.fr")
                   for i in range(2)]
    vms = [f.voicemail(mine, consent="private"),  # two of its own messages
           f.voicemail(mine, consent="private", urgency="normal"),
           f.voicemail(caller_side[0]),  # a request shared with it by a neighbour's caller
           f.voicemail(caller_side[1])]
    Voicemail.objects.filter(pk=vms[0].pk).update(transcript_reliable=False)
    for vm in vms:
        vm.refresh_from_db()
        pipeline.start(vm)
    drain()
    waiting = Delivery.objects.filter(listing=mine)
    assert waiting.count() == 4
    assert {(d.channel, d.status) for d in waiting} == {("digest", "pending")}
    assert smtp.mailbox.to("resume@example.fr") == []
    assert list(access.readable_deliveries(digest_pro)) != []  # already in the space

    # The next digest time after these deliveries were created (18:00 local).
    now = timezone.localtime()
    cutoff = now.replace(hour=18, minute=0, second=0, microsecond=0)
    if now >= cutoff:
        cutoff += timedelta(days=1)
    assert notifications.send_due_digests(cutoff - timedelta(minutes=1)) == 0
    assert notifications.send_due_digests(cutoff - timedelta(days=1)) == 0  # too early
    assert notifications.send_due_digests(cutoff + timedelta(minutes=5)) == 1
    drain()
    digests = smtp.mailbox.to("resume@example.fr")
    assert len(digests) == 1
    text, html = smtp.mailbox.text(digests[0]), smtp.mailbox.html(digests[0])
    assert text.count("http://testserver/r/") == 4 and html.count("http://testserver/r/") == 4
    assert smtp.mailbox.subject(digests[0]) == (
        f"[Relais] Résumé du {cutoff:%d/%m/%Y} : 4 messages")
    assert "Message pour Plomberie Résumé" in text and "Demande partagée" in text
    # The uncertain transcript is marked, as in a single e-mail, and only that one.
    assert text.count("Transcription incertaine — écoutez le message.") == 1
    assert html.count("Transcription incertaine — écoutez le message.") == 1
    assert text.count("Transcription incertaine") == 1
    assert f.CALLER_FR not in text and f.CALLER not in text
    assert {d.status for d in Delivery.objects.filter(listing=mine)} == {"sent"}
    assert Digest.objects.get().status == "sent"
    # Once a day: running the job again sends nothing more.
    assert notifications.send_due_digests(cutoff + timedelta(minutes=15)) == 0
    drain()
    assert len(smtp.mailbox.to("resume@example.fr")) == 1


def test_notifications_off_sends_nothing_and_keeps_the_message_in_the_space(
        routing_steps, smtp):
    quiet_pro = f.professional(email="silence@example.fr")
    quiet = f.listing(*NANTES, ["plombier"], notify=Listing.Notify.OFF, pro=quiet_pro)
    noaddr = f.listing(*offset(*NANTES, 40), ["plombier"], pro=f.professional(email=""))
    vm = f.voicemail(quiet)
    vm2 = f.voicemail(noaddr, consent="private")
    for v in (vm, vm2):
        pipeline.start(v)
    drain()
    own = Delivery.objects.get(voicemail=vm, kind="own")
    assert (own.status, own.channel) == ("unnotified", "off")
    assert "désactivées" in own.status_reason
    # The called pro without a valid address still gets its own message, in its space.
    no_email_own = Delivery.objects.get(voicemail=vm2)
    assert no_email_own.status == "unnotified" and "e-mail" in no_email_own.status_reason
    assert smtp.mailbox.messages == []
    assert notifications.send_due_digests(timezone.now() + timedelta(days=1)) == 0
    assert [d.pk for d in access.readable_deliveries(quiet_pro)] == [own.pk]


@pytest.mark.slow
def test_a_worker_killed_right_after_the_server_accepted_sends_again_with_the_same_message_id(
        smtp, pair):
    """The residual risk, shown: never lost, at worst a duplicate with one Message-ID."""
    env = relais_env(
        RELAIS_TEST_PIPELINE="tests.helpers.ROUTING_STEPS",
        RELAIS_NOTIFY_LEASE_SECONDS="1",
        EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
        RELAIS_PUBLIC_URL="http://testserver",
    )
    vm = f.voicemail(pair[0], consent="private")
    services.route_voicemail(vm)
    delivery = Delivery.objects.get(voicemail=vm)
    worker = None

    def kill_the_worker(envelope):
        # The message is fully received; the worker dies before reading "250".
        if worker is not None and len(smtp.mailbox.messages) == 0:
            os.kill(worker.pid, signal.SIGKILL)

    smtp.mailbox.on_data = kill_the_worker
    notifications.dispatch([delivery])
    worker = start_relais("worker", "--no-startup-delay", "--interval", "0.1", "--batch",
                          "--no-schedule", env=env)
    worker.wait(60)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 1)  # outcome unknown
    assert len(smtp.mailbox.messages) == 1
    time.sleep(1.2)  # the lease runs out
    result = relais("shell", "-c",
                    "from relais.routing import notifications; print(notifications.recover())",
                    env=env)
    assert result.stdout.strip().splitlines()[-1] == "1", result.stdout + result.stderr
    result = relais("worker", "--batch", "--no-startup-delay", "--no-schedule", env=env)
    assert result.returncode == 0, result.stderr
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    first, second = smtp.mailbox.messages
    assert first["Message-ID"] == second["Message-ID"] == delivery.message_id


def test_digest_marks_an_uncertain_shared_excerpt():
    from django.template.loader import render_to_string
    item = {"is_own": False, "metier": "Plombier", "redacted_text": "fuite sous l'évier",
            "transcript_reliable": False, "link": "http://testserver/r/x", "distance": "",
            "urgency": "", "received_at": timezone.now()}
    ctx = {"items": [item, {**item, "transcript_reliable": True}], "count": 2,
           "max_age_days": 30}
    for name in ("routing/email/digest.txt", "routing/email/digest.html"):
        out = render_to_string(name, ctx)
        assert out.count("Transcription incertaine — écoutez l'extrait.") == 1, name
