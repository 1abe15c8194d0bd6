"""A worker killed (SIGKILL) in the middle of a real transcription: another worker picks
the message up once the lease runs out and the professional gets it exactly once."""

import time

import pytest

from relais.voicemail.models import PipelineStep, Voicemail
from tests.factories import REQUEST
from tests.helpers import kill_when, recipients, relais, relais_env, simulate_call, start_relais

LEASE = 8


@pytest.mark.whisper
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_during_transcription_another_delivers_exactly_once(
        paris_directory, live_server, smtp, tmp_path):
    reference = simulate_call(tmp_path, live_server, REQUEST, "private")
    vm = Voicemail.objects.get(reference=reference)
    env = relais_env(RELAIS_PUBLIC_URL=live_server.url,
                     EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
                     RELAIS_STEP_LEASE_SECONDS=str(LEASE), RELAIS_TASK_TIMEOUT_SECONDS="600")
    transcribe = PipelineStep.objects.filter(voicemail=vm, name="transcribe")
    worker = start_relais("worker", "--no-startup-delay", "--interval", "0.1", "--no-schedule",
                          env=env)
    kill_when(worker, lambda: transcribe.get().status == "running", 180,
              "the worker never started transcribing", pause=0.05)
    step = transcribe.get()
    assert (step.status, step.attempts) == ("running", 1)  # left behind by the dead worker
    assert smtp.mailbox.messages == []
    time.sleep(LEASE + 0.5)  # the lease runs out
    result = relais("worker", "--batch", "--no-startup-delay", env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    vm.refresh_from_db()
    assert vm.status == Voicemail.Status.DONE
    step = transcribe.get()
    assert (step.status, step.attempts) == ("done", 2)
    assert "plombier" in vm.transcript.lower()
    assert recipients(smtp.mailbox) == ["appele@example.org"]  # once, to the called pro
    assert [d.kind for d in vm.deliveries.all()] == ["own"]
