"""Duplicated and out-of-order webhooks against a live server, concurrently: the provider
may deliver any callback twice, late, or at the same time as another. Whatever the order,
one call leaves one message with the caller's final choice.

The sequential cases (each callback replayed, gather before the recording callback, late
recording callback) are in tests/calls/test_webhooks.py and test_flows.py; here the same
callbacks race each other through several gunicorn workers."""

import random
import threading

import pytest

from relais.calls.models import Call
from relais.demo.phone import LocalPhone, new_sid
from relais.voicemail.models import PipelineStep, Voicemail
from tests.factories import TRACKING, tone_wav
from tests.faults.live import SEED, RetryingHttp, start_web, stop
from tests.helpers import relais_env

COPIES = 3


def race(transport, requests_: list[tuple[str, dict]]) -> list[int]:
    """Send all the requests at once, each from its own thread; returns the statuses."""
    statuses, barrier = [], threading.Barrier(len(requests_))

    def send(url, params):
        barrier.wait()
        statuses.append(transport.post(url, params)[0])

    threads = [threading.Thread(target=send, args=r) for r in requests_]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_racing_duplicated_and_reordered_callbacks_leave_one_message_with_the_final_consent():
    exec(SEED, {})  # noqa: S102
    web, base = start_web(relais_env(), workers=4)
    try:
        transport = RetryingHttp(base)
        # A first call, followed normally: the provider's requests for such a call.
        template = LocalPhone(transport).call(TRACKING, "+33612000001", tone_wav(1.0),
                                              consent="share")
        assert template.voicemail_reference and not template.errors
        old_call, old_rec = template.call_sid, template.recording_sid
        for round_ in range(3):
            call_sid, rec_sid = new_sid("CA"), new_sid("RE")

            def renamed(params, call_sid=call_sid, rec_sid=rec_sid):
                return {k: v.replace(old_call, call_sid).replace(old_rec, rec_sid)
                        .replace("+33612000001", "+33612000002") for k, v in params.items()}

            voice, *callbacks, final = [(url, renamed(p)) for url, p in template.sent]
            assert final[0].endswith("/status") and final[1]["CallStatus"] == "completed"
            # The incoming call is always first (and may itself be retried at once)…
            assert all(s == 200 for s in race(transport, [voice] * COPIES))
            # …then every callback made during the call several times, shuffled, at once:
            # recording status before the dial action, the consent after the recording…
            mixed = callbacks * COPIES
            random.Random(round_).shuffle(mixed)
            statuses = race(transport, mixed)
            # …and the end-of-call status last (a gather arriving after it is settled
            # "private": tests/calls/test_webhooks.py), duplicated as well.
            statuses += race(transport, [final] * COPIES)
            assert all(s < 500 for s in statuses), statuses
            assert Call.objects.filter(call_sid=call_sid).count() == 1
            vm = Voicemail.objects.get(call__call_sid=call_sid)
            assert (vm.consent, vm.recording_sid) == ("share", rec_sid)
            assert vm.consent_recorded_at is not None
            assert PipelineStep.objects.filter(voicemail=vm, name="fetch").count() == 1
        assert transport.failures == 0
    finally:
        log = stop(web)
    assert Voicemail.objects.count() == 4, log[-2000:]
