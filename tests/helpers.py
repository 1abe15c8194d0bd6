"""Helpers shared by tests: worker subprocesses on the test database."""

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """A URL for the test database, for processes started by a test."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def relais_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=database_url(),
        # This checkout's code first, whichever checkout the installed package points at.
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    )
    env.update(extra)
    return env


def relais(*args: str, env: dict | None = None, timeout: float = 300, **kw):
    """Run ``relais ARGS`` in a subprocess on the test database."""
    return subprocess.run(
        [sys.executable, "-m", "relais.cli", *args],
        env=env or relais_env(), capture_output=True, text=True, timeout=timeout, cwd=ROOT, **kw,
    )


def start_relais(*args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "relais.cli", *args],
        env=env or relais_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, **kw,
    )


# --- The task backend of the configuration under test (db or rq) -----------------------


def rq_backend() -> bool:
    from django.conf import settings

    return settings.TASKS["default"]["BACKEND"].startswith("django_tasks_rq.")


def drain() -> None:
    """Run every task that is ready (and what they enqueue), in this process.

    ``relais worker --batch``: db_worker's batch mode or rq_worker's burst mode.
    """
    from django.core.management import call_command

    call_command("worker", batch=True, startup_delay=False, no_schedule=True, verbosity=0)


def make_deferred_tasks_due() -> None:
    """Tasks enqueued with a run_after in the future become due now."""
    from django.utils import timezone

    if rq_backend():
        import django_rq
        from django.conf import settings
        from rq.registry import ScheduledJobRegistry

        for name in settings.RELAIS_QUEUES:
            registry = ScheduledJobRegistry(queue=django_rq.get_queue(name))
            ids = registry.get_job_ids()
            if ids:
                registry.connection.zadd(registry.key, dict.fromkeys(ids, 0))
    else:
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())


def task_count() -> int:
    """How many tasks were ever enqueued (and not purged) on the backend."""
    if rq_backend():
        import django_rq

        return len(django_rq.get_connection("default").keys("rq:job:*"))
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.count()


# --- Files in the configured storage (local folder or S3 bucket) -------------------------


class Stored:
    """A file of the default storage, looked up through the storage (local or S3)."""

    def __init__(self, name: str):
        self.name = name

    def exists(self) -> bool:
        from django.core.files.storage import default_storage

        return default_storage.exists(self.name)

    def __repr__(self) -> str:
        return f"Stored({self.name!r})"


def stored_files(prefix: str) -> list[str]:
    """Names of the files under ``prefix`` (a folder) in the default storage."""
    from django.core.files.storage import default_storage

    try:
        folders, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return []
    return [f"{prefix}/{f}" for f in files] + [
        name for folder in folders for name in stored_files(f"{prefix}/{folder}")]
