"""Shared set-up for the directory benchmarks: a throw-away data folder and database."""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import threading
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
        data_dir.mkdir(parents=True, exist_ok=True)
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="relais-bench-directory-"))
        atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    os.environ.update({"RELAIS_DATA_DIR": str(data_dir), "DEBUG": "false",
                       "SECRET_KEY": "benchmark-only", "LOG_LEVEL": "WARNING",
                       "DATABASE_URL": database_url or ""})
    # Outside demo mode the provider credentials must not be the source's placeholders
    # (system check relais.calls.E001, run by migrate and the workers). Benchmarks that
    # play the provider with the local phone set RELAIS_DEMO=1 instead.
    os.environ.setdefault("TWILIO_ACCOUNT_SID", "AC" + "be" * 16)
    os.environ.setdefault("TWILIO_AUTH_TOKEN", "benchmark-only-token")
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


def relais(*args, demo: bool = False) -> float:
    """Run ``relais ARGS``; ``demo``: with the demo app (``generate_sirene``, ``seed_demo``)."""
    env = os.environ.copy()
    if demo:
        env["RELAIS_DEMO"] = "1"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "relais.cli", *args], check=True, cwd=ROOT, env=env)
    return time.perf_counter() - started


def stop(*processes: subprocess.Popen, timeout: float = 20) -> None:
    """Terminate processes started by a benchmark, then kill those that linger."""
    for p in processes:
        p.terminate()
    for p in processes:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` (Linux /proc); None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relais.settings")
    import django

    django.setup()


class LoadSampler:
    """The machine's 1-minute load average, sampled every few seconds in a thread.

    The machine is shared: each figure is reported with the load it was measured under.
    """

    def __init__(self, every: float = 5.0):
        self.samples = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self.samples.append(os.getloadavg()[0])

    def mean(self) -> float:
        """Stops sampling; the mean of the samples so far."""
        self._stop.set()
        self.samples.append(os.getloadavg()[0])
        return round(sum(self.samples) / len(self.samples), 2)
