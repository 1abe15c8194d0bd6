"""Retention: what is older than its period is really gone; younger data stays."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from relais.calls.models import Call
from relais.core import schedule
from relais.core.models import AuditEvent
from relais.privacy import services
from relais.routing import services as routing
from relais.routing.models import Delivery
from relais.voicemail.models import Voicemail
from tests import factories as f
from tests.factories import CALLER, NANTES, offset
from tests.helpers import Stored

pytestmark = pytest.mark.django_db


def aged(days: float, **kw) -> Voicemail:
    called = f.listing(*NANTES, ["plombier"], email="appele@example.fr")
    f.listing(*offset(*NANTES, 5), ["plombier"], email="voisin@example.fr")
    vm = f.voicemail(called, **kw)
    Voicemail.objects.filter(pk=vm.pk).update(
        words=[{"start": 0.0, "end": 0.4, "word": "Bonjour"}], speech={"model": "base"},
        reasons=["fuite"])
    routing.route_voicemail(vm)
    when = timezone.now() - timedelta(days=days)
    Voicemail.objects.filter(pk=vm.pk).update(created_at=when)
    vm.refresh_from_db()
    return vm


def paths(vm):
    return [Stored(n) for n in (vm.audio.name, vm.extract.name) if n]


def actions(vm):
    return sorted(AuditEvent.objects.filter(voicemail_id=vm.pk, actor_kind="system",
                                            action__startswith="retention.")
                  .values_list("action", flat=True))


def test_purge_applies_each_retention_period(settings):
    settings.RELAIS_RETENTION_AUDIO_DAYS = 30
    settings.RELAIS_RETENTION_TRANSCRIPT_DAYS = 90
    settings.RELAIS_RETENTION_METADATA_DAYS = 365
    young, audio_old, text_old, all_old = aged(29), aged(31), aged(91), aged(366)
    files = {vm.pk: paths(vm) for vm in (young, audio_old, text_old, all_old)}
    assert all(p.exists() for ps in files.values() for p in ps) and len(files[young.pk]) == 2
    old_call = Call.objects.create(call_sid="CA" + "3" * 32, caller_e164=CALLER,
                                   to_e164="+33100000000")
    new_call = Call.objects.create(call_sid="CA" + "4" * 32, caller_e164=CALLER,
                                   to_e164="+33100000000")
    Call.objects.filter(pk=old_call.pk).update(started_at=timezone.now() - timedelta(days=366))

    report = services.purge()

    assert (report.audio, report.transcripts, report.metadata, report.calls, report.files) == (
        3, 2, 1, 1, 6)
    for vm in (young, audio_old, text_old, all_old):
        vm.refresh_from_db()
    # Younger than every period: untouched.
    assert all(p.exists() for p in files[young.pk])
    assert young.transcript and young.words and young.redacted_text and young.caller_e164
    assert actions(young) == []
    # Audio period passed: files gone from storage, fields empty; text kept.
    for vm in (audio_old, text_old, all_old):
        assert not any(p.exists() for p in files[vm.pk])
        assert (vm.audio.name, vm.extract.name) == ("", "")
    assert audio_old.transcript and audio_old.redacted_text and audio_old.caller_e164
    assert actions(audio_old) == ["retention.audio"]
    # Transcript period passed: text emptied; number and routing metadata kept.
    for vm in (text_old, all_old):
        assert (vm.transcript, vm.words, vm.redacted_text, vm.speech, vm.reasons) == (
            "", [], "", {}, [])
    assert text_old.caller_e164 == CALLER
    assert Delivery.objects.filter(voicemail=text_old).exclude(reason={}).exists()
    assert actions(text_old) == ["retention.audio", "retention.transcript"]
    # Metadata period passed: the number and the deliveries' reasons and distances too.
    assert all_old.caller_e164 == ""
    assert all(d.reason == {} and d.distance_km is None
               for d in Delivery.objects.filter(voicemail=all_old))
    assert Delivery.objects.filter(voicemail=young, distance_km__isnull=False).exists()
    assert actions(all_old) == ["retention.audio", "retention.metadata", "retention.transcript"]
    old_call.refresh_from_db()
    new_call.refresh_from_db()
    assert (old_call.caller_e164, new_call.caller_e164) == ("", CALLER)
    # A second run finds nothing left to do.
    again = services.purge()
    assert (again.audio, again.transcripts, again.metadata, again.calls, again.files) == (
        0, 0, 0, 0, 0)


def test_the_operator_settings_change_the_periods(settings):
    vm = aged(10)
    settings.RELAIS_RETENTION_AUDIO_DAYS = 7
    ps = paths(vm)
    services.purge()
    assert not any(p.exists() for p in ps)
    vm.refresh_from_db()
    assert vm.transcript  # 90 days for the text


def test_the_purge_command_and_the_periodic_job(settings, capsys):
    vm = aged(40)
    ps = paths(vm)
    call_command("purge")
    out = capsys.readouterr().out
    assert "audio 30 j" in out and "1 enregistrement(s)" in out
    assert not any(p.exists() for p in ps)
    job = next(j for j in schedule.periodic_jobs() if j.name == "retention-purge")
    assert job.function is services.purge
    other = aged(40)
    ran = schedule.tick(jobs=[job])
    assert ran == ["retention-purge"]
    other.refresh_from_db()
    assert other.audio.name == ""


def test_the_job_purges_in_batches_and_the_command_until_done(settings, capsys):
    settings.RELAIS_PURGE_BATCH = 2
    old = [aged(40) for _ in range(5)]
    report = services.purge()
    assert (report.audio, report.more) == (2, True)
    assert sum(1 for vm in old if Voicemail.objects.get(pk=vm.pk).audio) == 3
    call_command("purge")
    assert "3 enregistrement(s)" in capsys.readouterr().out
    assert not any(Voicemail.objects.get(pk=vm.pk).audio for vm in old)


def test_portal_codes_are_deleted_after_two_days():
    from relais.privacy.models import PortalChallenge

    now = timezone.now()
    old = services.request_code("12345678", "06 12 34 56 78",
                                now=now - timedelta(days=2, seconds=1))
    new = services.request_code("12345678", "06 12 34 56 78", now=now - timedelta(days=1))
    assert services.purge().codes == 1
    assert list(PortalChallenge.objects.values_list("pk", flat=True)) == [new.pk]
    assert not PortalChallenge.objects.filter(pk=old.pk).exists()
