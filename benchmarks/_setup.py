"""Shared set-up for the directory benchmarks: a throw-away data folder and database."""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]


def prepare(database_url: str | None, keep: str | None = None) -> Path:
    """Point Relais at a fresh data folder (and a fresh PostgreSQL database), migrated.

    PostgreSQL databases are dropped and created again: their name must contain
    "bench" so that no real database is ever dropped by mistake.
    """
    if keep:
        data_dir = Path(keep)
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="relais-bench-directory-"))
        atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    os.environ.update({"RELAIS_DATA_DIR": str(data_dir), "DEBUG": "false",
                       "SECRET_KEY": "benchmark-only", "LOG_LEVEL": "WARNING",
                       "DATABASE_URL": database_url or ""})
    if database_url:
        url = urlparse(database_url)
        name = url.path.lstrip("/")
        if "bench" not in name:
            sys.exit(f"refusing to reset database {name!r}: its name must contain 'bench'")
        import psycopg

        admin = url._replace(path="/postgres").geturl()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    relais("migrate", "--no-input", "-v0")
    return data_dir


def relais(*args) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "relais.cli", *args], check=True, cwd=ROOT,
                   env=os.environ.copy())
    return time.perf_counter() - started


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relais.settings")
    import django

    django.setup()
