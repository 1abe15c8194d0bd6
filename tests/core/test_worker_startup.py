"""Task workers run the apps' startup functions (core.schedule.startup) before anything else."""

import pytest
from django.core.management import call_command

from relais.core import schedule
from relais.voicemail import pipeline


def test_voicemail_registers_the_recovery_of_stalled_steps():
    assert pipeline.recover_stalled in schedule.startup
    before = list(schedule.startup)
    schedule.on_startup(pipeline.recover_stalled)  # registering twice runs it once
    assert schedule.startup == before


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_every_startup_function(monkeypatch):
    ran = []
    monkeypatch.setattr(schedule, "startup", [*schedule.startup, lambda: ran.append(1)])
    call_command("worker", batch=True, verbosity=0, startup_delay=False, no_schedule=True)
    assert ran == [1]
