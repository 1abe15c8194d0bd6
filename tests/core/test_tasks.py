from datetime import UTC, datetime, timedelta

from relais.core.tasks import due_at


def test_a_delayed_task_never_runs_before_its_due_time_at_whole_second_precision():
    now = datetime(2026, 1, 1, 12, 0, 0, 250_000, tzinfo=UTC)
    assert due_at(now, 0) is None
    at = due_at(now, 1)  # due at 12:00:01.25: RQ keeps whole seconds
    assert at == datetime(2026, 1, 1, 12, 0, 2, tzinfo=UTC)
    assert at >= now + timedelta(seconds=1) and at - now < timedelta(seconds=2)
    exact = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert due_at(exact, 30) == exact + timedelta(seconds=30)
