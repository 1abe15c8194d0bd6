"""``relais simulate_call`` (in a real subprocess, and in process)."""

import json

import pytest
from django.core.management import CommandError, call_command

from relais.calls.models import TrackingNumber
from relais.voicemail.models import PipelineStep, Voicemail
from tests.factories import PHONE_CALLER as CALLER
from tests.factories import TRACKING, make_listing
from tests.helpers import drain, relais, relais_env


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_simulate_call_cli_in_process_then_the_worker_downloads(live_server, settings,
                                                                tmp_path, wav):
    listing = make_listing()
    TrackingNumber.objects.create(e164=TRACKING, listing=listing)
    audio = tmp_path / "message.wav"
    audio.write_bytes(wav)
    env = relais_env(RELAIS_PUBLIC_URL=live_server.url,
                     RELAIS_TEST_PIPELINE="tests.helpers.FETCH_ONLY")
    done = relais("simulate_call", "--to", "01 99 00 00 01", "--from", CALLER, "--audio",
                  str(audio), "--no-answer", "--consent", "share", "--json", env=env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert {"call_sid", "voicemail_reference", "heard"} <= out.keys()
    assert out["call_sid"].startswith("CA") and len(out["call_sid"]) == 34
    vm = Voicemail.objects.get(reference=out["voicemail_reference"])
    assert vm.call.call_sid == out["call_sid"] and vm.consent == "share"
    assert any(out["voicemail_reference"][0] + ", " in line for line in out["heard"])
    # The process is gone; its recording is still downloadable from Relais.
    settings.RELAIS_PUBLIC_URL = live_server.url
    drain()
    vm.refresh_from_db()
    assert PipelineStep.objects.get(voicemail=vm).status == "done"
    assert vm.audio.read() == wav


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_simulate_call_cli_over_http(live_server, settings, tmp_path, wav):
    settings.RELAIS_PUBLIC_URL = live_server.url  # the running server's public URL
    listing = make_listing()
    TrackingNumber.objects.create(e164=TRACKING, listing=listing)
    audio = tmp_path / "message.wav"
    audio.write_bytes(wav)
    done = relais("simulate_call", "--to", TRACKING, "--from", CALLER, "--audio", str(audio),
                  "--busy", "--hangup-during-recording", "--url", live_server.url)
    assert done.returncode == 0, done.stderr
    assert "rang 06 39 98 99 99: busy" in done.stdout
    assert "No message left." in done.stdout  # hung up before hearing a reference
    vm = Voicemail.objects.get()
    assert vm.consent == "private" and vm.consent_recorded_at is not None
    assert vm.recording_url.startswith(live_server.url + "/telephony/local/recordings/RE")
    drain()
    vm.refresh_from_db()
    assert vm.audio.read() == wav  # uploaded to the server's local provider, then fetched


@pytest.mark.django_db
def test_simulate_call_rejects_bad_input(tmp_path):
    with pytest.raises(CommandError, match="--audio is needed"):
        call_command("simulate_call", "--to", TRACKING, "--from", CALLER)
    with pytest.raises(CommandError, match="no such audio file"):
        call_command("simulate_call", "--to", TRACKING, "--from", CALLER, "--audio",
                     str(tmp_path / "missing.wav"))
    with pytest.raises(CommandError, match="not a phone number"):
        call_command("simulate_call", "--to", "hello", "--from", CALLER, "--answer")
