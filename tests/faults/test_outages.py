"""Outages against a running worker (``relais worker``, the configured backend, its own
process): the provider's recording URL failing, then the mail server down during the
fan-out. Time is compressed through the retry settings; retries are the worker's own
delayed tasks (RQ's scheduler on the production configuration), nothing is drained by
hand. Every message is delivered exactly once."""

import time

import pytest
from django.core.files.storage import FileSystemStorage

from relais.routing import steps as routing_steps
from relais.routing.models import Delivery
from relais.voicemail import pipeline, recordings
from relais.voicemail.models import PipelineStep, Voicemail
from relais.voicemail.pipeline import Step
from tests import factories as f
from tests.factories import NANTES, offset, tone_wav
from tests.helpers import Provider, relais_env, start_relais, wait_for

# Also for the worker: RELAIS_TEST_PIPELINE=tests.faults.test_outages.STEPS.
STEPS = [
    Step(recordings.fetch_step, "audio", max_attempts=1000, name="fetch"),
    Step(routing_steps.route, "default"),
    Step(routing_steps.notify, "notifications"),
]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_recording_url_down_for_a_while_then_smtp_down_deliver_each_email_once(
        smtp, settings):
    wav = tone_wav(1.0)
    provider = Provider({"down": wav})
    provider.plans["down"] = [503] * 100_000  # down until the test says otherwise
    called = f.listing(*NANTES, ["plombier"], email="appele@example.fr")
    f.listing(*offset(*NANTES, 5), ["plombier"], email="voisin@example.fr")
    vm = f.voicemail(called, consent="share", audio=False)
    vm.recording_sid, vm.recording_url = "RE" + "d" * 32, provider.base + "down"
    vm.status = Voicemail.Status.RECEIVED
    vm.save()
    smtp.stop()  # the mail server is down too, for later
    env = relais_env(
        RELAIS_TEST_PIPELINE="tests.faults.test_outages.STEPS",
        RELAIS_RETRY_BASE_SECONDS="0.2", RELAIS_RETRY_MAX_SECONDS="1",
        RELAIS_PUBLIC_URL=provider.origin,  # demo mode: the local provider's exact origin
        EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}", EMAIL_TIMEOUT="2",
    )
    settings.RELAIS_PIPELINE = STEPS
    pipeline.start(vm)
    worker = start_relais("worker", "--no-startup-delay", "--interval", "0.1", env=env)
    try:
        fetch = PipelineStep.objects.filter(voicemail=vm, name="fetch")
        # "Minutes" of outage, compressed: many failed downloads, spaced by the backoff.
        wait_for(lambda: provider.hits.get("down", 0) >= 6, 60, "six failed downloads",
                 worker)
        step = fetch.get()
        assert step.status == "retry" and step.attempts >= 6, (step.status, step.attempts)
        assert "503" in step.error
        assert not Delivery.objects.filter(voicemail=vm).exists()
        provider.plans["down"] = []  # the provider is back
        wait_for(lambda: fetch.get().status == "done", 30, "the download", worker)
        def deliveries():
            return list(Delivery.objects.filter(voicemail=vm))

        wait_for(lambda: len(deliveries()) == 2 and all(
            d.attempts >= 2 for d in deliveries()), 60, "two failed sends each", worker)
        assert smtp.mailbox.messages == []
        smtp.start()  # the mail server is back
        wait_for(lambda: {d.status for d in deliveries()} == {"sent"}, 60, "the emails", worker)
        time.sleep(2)  # the worker keeps ticking: nothing is sent again
    finally:
        worker.kill()
        worker.wait(10)
        provider.close()
    assert sorted(m["To"] for m in smtp.mailbox.messages) == ["appele@example.fr",
                                                              "voisin@example.fr"]
    vm.refresh_from_db()
    assert vm.status == Voicemail.Status.DONE
    if isinstance(vm.audio.storage, FileSystemStorage):  # the worker's own media folder
        assert (settings.DATA_DIR / "media" / vm.audio.name).read_bytes() == wav
    else:  # the session's S3 bucket, shared
        with vm.audio.open("rb") as stored:
            assert stored.read() == wav
    assert fetch.get().attempts == provider.hits["down"]  # one successful download
