"""Load: 100 concurrent calls through the webhooks of a live server (gunicorn, several
workers), each request signed as Twilio signs it. No call fails, none is lost."""

import json

import pytest

from relais.calls.models import Call
from relais.voicemail.models import PipelineStep, Voicemail
from tests.factories import tone_wav
from tests.faults.live import SEED, percentile, place_calls, start_web, stop
from tests.helpers import relais_env

CALLS = 100


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_100_concurrent_calls_leave_100_messages_without_an_error():
    exec(SEED, {})  # noqa: S102 - the same listing and tracking number as the other tests
    web, base = start_web(relais_env(), workers=4)
    try:
        results, transports = place_calls(base, tone_wav(1.0), CALLS, threads=CALLS)
    finally:
        log = stop(web)
    latencies = [x for t in transports for x in t.latencies]
    figures = {
        "benchmark": "webhooks-concurrent-calls", "calls": CALLS, "concurrency": CALLS,
        "requests": len(latencies), "web_workers": 4,
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
    }
    print(json.dumps(figures))
    assert sum(t.failures for t in transports) == 0, log[-3000:]  # no 5xx, nothing retried
    assert all(not r.errors for r in results), [r.errors for r in results if r.errors][:3]
    sids = sorted(r.call_sid for r in results)
    assert sorted(Call.objects.values_list("call_sid", flat=True)) == sids
    assert sorted(Voicemail.objects.values_list("call__call_sid", flat=True)) == sids
    assert sorted(Voicemail.objects.values_list("reference", flat=True)) == sorted(
        r.voicemail_reference for r in results)
    assert set(Voicemail.objects.values_list("consent", flat=True)) == {"share"}
    assert PipelineStep.objects.values("voicemail").distinct().count() == CALLS
