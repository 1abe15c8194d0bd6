"""The console's figures against the hand-counted traffic of conftest.py."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse

from relais.console import figures, summary
from relais.console.models import DailyFigures
from relais.core.models import PeriodicRun
from relais.routing import services as routing
from relais.routing.models import Delivery, Feedback
from relais.voicemail.models import PipelineStep


def refresh(traffic, days=45):
    today = summary.local_day(traffic["now"])
    summary.refresh(today - timedelta(days=days), today + timedelta(days=1))


def test_each_figure_matches_the_hand_count(traffic):
    refresh(traffic)
    fig = figures.compute(figures.Filters(days=30))
    t = fig.totals
    assert (t["calls"], t["answered"], t["voicemails"]) == (3, 1, 5)
    assert (t["own_only"], t["shared"], t["moderation"], t["rejected"]) == (2, 1, 1, 1)
    assert fig.share_rate == pytest.approx(1 / 5)
    assert t["why_consent"] == 2  # vm2 and Lyon's
    assert t["why_low_confidence"] == 2  # vm3 waiting, vm4 rejected
    assert t["why_not_request"] == t["why_metier_not_shareable"] == t["why_no_recipient"] == 0
    assert (t["recipients"], t["shared_reached"]) == (1, 1)
    assert fig.recipients_per_shared == 1.0
    assert (t["unlocks"], t["credits_spent"], t["credits_returned"]) == (1, 3, 3)
    assert fig.unlocks_per_shared == 1.0
    # first e-mails after 45 s and 200 s: buckets "≤ 1 min" and "≤ 5 min"
    assert fig.latency("email") | {} == {"n": 2, "p50": 60, "p95": 300,
                                           "p50_text": "≤ 1 min", "p95_text": "≤ 5 min"}
    assert fig.latency("action")["n"] == 1 and fig.latency("action")["p50"] == 1800
    by = {m["metier"]: m for m in fig.by_metier}
    # plumbers: 5 deliveries (vm1 own + shared, vm2, vm3, vm4), one "pas mon métier"
    assert (by["plombier"]["deliveries"], by["plombier"]["wrong_metier"]) == (5, 1)
    assert by["plombier"]["rate"] == pytest.approx(0.2)
    assert by["electricien"]["rate"] == 0.0
    assert fig.by_metier[0]["metier"] == "plombier"  # worst first
    assert [(c["predicted"], c["suggested"], c["n"]) for c in fig.confusions] == [
        ("plombier", "electricien", 1)]
    assert {c["name"]: c["n"] for c in fig.communes} == {"Nantes": 4, "Lyon": 1}
    assert len(fig.days) == 30 and sum(d["voicemails"] for d in fig.days) == 5


def test_the_period_and_the_filters(traffic):
    refresh(traffic)
    assert figures.compute(figures.Filters(days=90)).totals["voicemails"] == 6  # + 40 days ago
    assert figures.compute(figures.Filters(days=7)).totals["voicemails"] == 5
    nantes = figures.compute(figures.Filters(days=30, departement="44"))
    assert (nantes.totals["voicemails"], nantes.totals["calls"]) == (4, 3)
    assert [c["name"] for c in nantes.communes] == ["Nantes"]
    elec = figures.compute(figures.Filters(days=30, metier="electricien"))
    assert (elec.totals["voicemails"], elec.totals["calls"], elec.totals["own_only"]) == (1, 0, 1)
    assert elec.confusions == []  # filtered on the predicted métier
    nobody = figures.compute(figures.Filters(days=30, departement="69", metier="plombier"))
    assert nobody.totals["voicemails"] == 0 and nobody.share_rate is None
    # unknown values in the query string fall back to the defaults
    parsed = figures.parse_filters({"jours": "365", "departement": "ZZ", "metier": "<x>"})
    assert parsed == figures.Filters(days=30)
    assert figures.parse_filters({"jours": "7", "departement": "44", "metier": "plombier"}) \
        == figures.Filters(days=7, departement="44", metier="plombier")


def test_a_refresh_replaces_a_day_and_counts_late_events(traffic):
    refresh(traffic, days=1)
    rows = DailyFigures.objects.count()
    refresh(traffic, days=1)
    assert DailyFigures.objects.count() == rows  # replaced, not added
    vm2_own = Delivery.objects.get(voicemail=traffic["vms"][1])
    routing.record_feedback(vm2_own, "not_a_request")
    assert figures.compute(figures.Filters()).totals["not_request"] == 0  # not refreshed yet
    summary.refresh_recent()
    assert figures.compute(figures.Filters()).totals["not_request"] == 1
    assert Feedback.objects.count() == 2


def test_pipeline_health(traffic):
    vm1, vm2, vm3 = traffic["vms"][:3]
    now = traffic["now"]
    PipelineStep.objects.create(voicemail=vm1, name="notify", position=6, status="failed")
    PipelineStep.objects.create(voicemail=vm2, name="route", position=5, status="waiting")
    PipelineStep.objects.create(voicemail=vm3, name="transcribe", position=2, status="pending")
    h = figures.health(now=now + timedelta(minutes=10))
    assert (h["failed"], h["waiting"], h["pending"]) == (1, 1, 1)
    assert h["failed_by_step"] == [{"name": "notify", "n": 1}]
    assert h["oldest_pending_seconds"] == pytest.approx(600, abs=1)
    assert h["heartbeat_at"] is None and not h["heartbeat_ok"]
    PeriodicRun.objects.create(name="recover-stalled-steps", last_run_at=now)
    assert figures.health(now=now + timedelta(minutes=2))["heartbeat_ok"]
    assert not figures.health(now=now + timedelta(minutes=20))["heartbeat_ok"]


def test_the_page_shows_the_figures_and_draws_every_chart(client, traffic):
    refresh(traffic)
    client.force_login(traffic["ops"])
    response = client.get(reverse("console:dashboard"), {"jours": "30"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg class="chart"') == 7
    assert "Nantes (44) : 4" in html  # the map's disc title
    assert "plombier" in html.lower() and "20 %" in html
    assert "<script" not in html.split("<main>")[1]  # charts need no script


def test_refresh_console_command_backfills(traffic):
    out = io.StringIO()
    call_command("refresh_console", "--days", "45", stdout=out)
    assert out.getvalue().strip() == "45 day(s) refreshed."
    assert figures.compute(figures.Filters(days=90)).totals["voicemails"] == 6


def test_reasons_come_from_the_first_pass_and_sharing_means_reaching_someone(db):
    """Hand count: Nantes' plumber has no neighbour of its trade; Lyon's electrician has one.

    a: uncertain transcript, waiting (why: transcription incertaine); b: under the
    threshold, approved, nobody to reach (why: low confidence only: the approval's
    appended ``no_recipient`` is not a first-pass reason); c: confident, shared, nobody
    nearby (why: no recipient); d: Lyon, shared and reached; e: no called listing (other).
    """
    from relais.routing.models import RoutingDecision
    from relais.voicemail.models import Voicemail
    from tests import factories as f

    ops = f.superuser()
    alone = f.listing(*f.NANTES, ["plombier"], email="seul@example.fr")
    lyon = f.listing(45.7640, 4.8357, ["electricien"], email="lyon@example.fr")
    f.listing(45.7700, 4.8400, ["electricien"], email="voisin-lyon@example.fr")
    a = f.voicemail(alone, audio=False)
    Voicemail.objects.filter(pk=a.pk).update(transcript_reliable=False)
    a.refresh_from_db()
    b = f.voicemail(alone, confidence=0.5, audio=False)
    c = f.voicemail(alone, audio=False)
    d = f.voicemail(lyon, metier="electricien", audio=False)
    e = f.voicemail(None, audio=False)
    for vm in (a, b, c, d, e):
        routing.route_voicemail(vm)
    routing.approve_moderation(RoutingDecision.objects.get(voicemail=b), ops)
    codes = [r["code"] for r in RoutingDecision.objects.get(voicemail=b).reasons]
    assert codes[0] == "under_threshold" and "no_recipient" in codes[1:]
    assert summary.first_pass(RoutingDecision.objects.get(voicemail=b).reasons) == [
        "under_threshold"]
    today = summary.local_day(Voicemail.objects.get(pk=a.pk).created_at)
    summary.refresh(today, today)
    fig = figures.compute(figures.Filters(days=7))
    t = fig.totals
    assert t["voicemails"] == 5
    assert t["why_transcript_unreliable"] == 1
    assert t["why_low_confidence"] == 1  # b only (a went to moderation for its transcript)
    assert t["why_no_recipient"] == 1  # c only, not b's post-approval reason
    assert t["why_other"] == 1  # e
    assert t["shared_reached"] == 1
    routed = t["own_only"] + t["shared"] + t["moderation"] + t["rejected"]
    assert routed == 5 and t["shared"] >= 2  # c (and b) keep the outcome "shared"
    assert fig.share_rate == pytest.approx(1 / 5)  # only d reached someone
    assert fig.recipients_per_shared == 1.0 and fig.unlocks_per_shared == 0
    labels = {label for _k, label, _n in fig.why}
    assert "transcription incertaine" in labels


def test_sms_messages_and_call_backs_are_counted(client, db):
    """Hand count: two messages, one by SMS; three call-backs, one connected."""
    import csv

    from relais.callbacks.models import Callback
    from relais.voicemail.models import Voicemail
    from tests import factories as f

    called = f.listing(*f.NANTES, ["plombier"], email="appele@example.fr")
    spoken = f.voicemail(called, consent="private", audio=False)
    texted = f.voicemail(called, consent="private", audio=False)
    Voicemail.objects.filter(pk=texted.pk).update(channel=Voicemail.Channel.SMS)
    pro = called.professional
    for status in (Callback.Status.COMPLETED, Callback.Status.PRO_NO_ANSWER,
                   Callback.Status.CALLER_BUSY):
        Callback.objects.create(professional=pro, voicemail=spoken, status=status)
    today = summary.local_day(Voicemail.objects.get(pk=spoken.pk).created_at)
    summary.refresh(today, today)
    t = figures.compute(figures.Filters(days=7)).totals
    assert (t["voicemails"], t["sms"]) == (2, 1)
    assert (t["callbacks"], t["callbacks_connected"]) == (3, 1)
    plumbers = figures.compute(figures.Filters(days=7, metier="plombier")).totals
    assert (plumbers["callbacks"], plumbers["sms"]) == (3, 1)
    ops = f.superuser()
    client.force_login(ops)
    html = client.get(reverse("console:dashboard")).content.decode()
    assert "1 par SMS" in html and "mis en relation" in html
    rows = list(csv.reader(io.StringIO(
        client.get(reverse("console:export"), {"jours": "7"}).content.decode("utf-8-sig"))))
    header = rows[4]
    total = dict(zip(header[1:], next(r for r in rows if r and r[0] == "total")[1:],
                     strict=True))
    assert (total["sms"], total["callbacks"], total["callbacks_connected"]) == ("1", "3", "1")
