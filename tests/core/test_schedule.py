from datetime import timedelta

import pytest
from django.utils import timezone

from relais.core import schedule

RAN = []


def record():
    RAN.append(1)


def boom():
    raise RuntimeError("boom")


JOBS = (
    schedule.Job("record", timedelta(minutes=10), record),
    schedule.Job("boom", timedelta(minutes=10), boom),
)


@pytest.mark.django_db
def test_each_job_runs_once_per_interval_whatever_the_number_of_workers():
    RAN.clear()
    now = timezone.now()
    assert schedule.tick(now, JOBS) == ["record"]  # "boom" failed, logged, others ran
    assert schedule.tick(now + timedelta(seconds=1), JOBS) == []  # a second worker: not due
    assert schedule.tick(now + timedelta(minutes=9), JOBS) == []
    assert schedule.tick(now + timedelta(minutes=10), JOBS) == ["record"]
    assert RAN == [1, 1]
