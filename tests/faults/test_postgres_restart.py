"""PostgreSQL restarted while the provider's webhooks keep coming: nothing lost, nothing
doubled. The database is a throw-away cluster of this test (never the shared server)."""

import json

import pytest

from tests.factories import tone_wav
from tests.faults.live import SEED, ThrowawayPostgres, place_calls, start_web, stop
from tests.helpers import relais, relais_env

CALLS = 30

STATE = """
import json
from relais.calls.models import Call
from relais.voicemail.models import PipelineStep, Voicemail
print(json.dumps({
    "calls": sorted(Call.objects.values_list("call_sid", flat=True)),
    "voicemail_calls": sorted(Voicemail.objects.values_list("call__call_sid", flat=True)),
    "references": sorted(Voicemail.objects.values_list("reference", flat=True)),
    "recordings": Voicemail.objects.exclude(recording_sid=None).count(),
    "consents": sorted(set(Voicemail.objects.values_list("consent", flat=True))),
    "started": PipelineStep.objects.values("voicemail").distinct().count(),
}))
"""


@pytest.fixture
def postgres():
    pg = ThrowawayPostgres().start()  # fails (never skips) when it cannot start
    yield pg
    pg.stop()


@pytest.mark.slow
def test_a_postgresql_restart_during_webhook_traffic_loses_and_doubles_no_message(postgres):
    env = relais_env(DATABASE_URL=postgres.url)
    for args in (("migrate", "--no-input"), ("shell", "-c", SEED)):
        result = relais(*args, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
    web, base = start_web(env, workers=3)
    restarted = []

    def restart_once_traffic_flows(done: int):
        if not restarted and done >= CALLS // 3:
            postgres.restart()
            restarted.append(done)

    try:
        results, transports = place_calls(base, tone_wav(1.0), CALLS, threads=6,
                                          during=restart_once_traffic_flows)
    finally:
        log = stop(web)
    assert restarted and restarted[0] < CALLS, "the restart happened after the traffic"
    retried = sum(t.failures for t in transports)
    print(json.dumps({"fault": "postgresql-restart", "calls": CALLS,
                      "restart_after_calls": restarted[0], "retried_requests": retried}))
    # The restart was felt (requests failed and were sent again by the provider)…
    assert retried > 0, log[-2000:]
    # …and every call still left exactly one message, with the caller's choice.
    result = relais("shell", "-c", STATE, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    state = json.loads(result.stdout.strip().splitlines()[-1])
    sids = sorted(r.call_sid for r in results)
    assert state["calls"] == sids
    assert state["voicemail_calls"] == sids
    assert state["references"] == sorted(r.voicemail_reference for r in results)
    assert state["recordings"] == CALLS
    assert state["consents"] == ["share"]
    assert state["started"] == CALLS
