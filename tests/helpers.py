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
        PYTHONPATH=str(ROOT),
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
