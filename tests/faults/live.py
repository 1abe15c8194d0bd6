"""A live Relais for fault and load tests: gunicorn, the provider's side, a PostgreSQL.

- ``start_web``: gunicorn with several workers on a free port, in its own processes.
- ``Provider``: the local phone (``relais.demo.phone``) over HTTP, each request signed
  with Twilio's RequestValidator scheme, retried the way Twilio retries a webhook whose
  server failed (connection error or 5xx), every request timed.
- ``ThrowawayPostgres``: a PostgreSQL cluster of its own in a temporary folder on a free
  port (initdb + pg_ctl), so a test may restart it without touching the shared server.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from relais.demo.phone import LocalPhone, OverHttp, PhoneError
from tests.factories import FORWARD, TRACKING
from tests.helpers import ROOT
from tests.services import free_port

SEED = f"""
from django.contrib.auth import get_user_model
from relais.calls.models import TrackingNumber
from relais.directory.models import Establishment
from relais.pros.models import Listing, Professional
est = Establishment.objects.create(siret="12345678900011", siren="123456789",
                                   name="Plomberie Martin")
user = get_user_model().objects.create_user(username="pro@example.org",
                                            email="pro@example.org", password="x-Pa55-word")
listing = Listing.objects.create(establishment=est, status="approved",
                                 professional=Professional.objects.create(user=user),
                                 forward_number="{FORWARD}")
TrackingNumber.objects.create(e164="{TRACKING}", listing=listing)
"""


def start_web(env: dict, workers: int = 4) -> tuple[subprocess.Popen, str]:
    """gunicorn on a free port; returns it and its base URL once it answers."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**env, "RELAIS_PUBLIC_URL": base, "RELAIS_CALLER_RATE_LIMIT": "0",
           "LOG_LEVEL": "WARNING"}
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "relais.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--timeout", "60", "--graceful-timeout", "5"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + 60
    while True:
        assert web.poll() is None, web.stdout.read()
        try:
            requests.get(base + "/", timeout=2)
            return web, base
        except requests.RequestException:
            assert time.monotonic() < deadline, "gunicorn never answered"
            time.sleep(0.2)


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    return process.stdout.read() if process.stdout else ""


class RetryingHttp(OverHttp):
    """Twilio's side of a webhook: a failed request (no connection, 5xx) is sent again,
    up to ``attempts`` times over about ``patience`` seconds; each request is timed."""

    def __init__(self, base: str, attempts: int = 40, pause: float = 0.5):
        super().__init__(base, timeout=30)
        self.attempts, self.pause = attempts, pause
        self.latencies: list[float] = []
        self.failures = 0  # failed attempts that were retried

    def post(self, url, params):
        for attempt in range(1, self.attempts + 1):
            began = time.perf_counter()
            try:
                status, body = super().post(url, params)
            except PhoneError:
                status, body = 599, ""
            self.latencies.append(time.perf_counter() - began)
            if status < 500 or attempt == self.attempts:
                return status, body
            self.failures += 1
            time.sleep(self.pause)
        raise AssertionError("unreachable")

    def keep_recording(self, recording_sid, data, content_type, filename):
        for attempt in range(1, self.attempts + 1):
            try:
                return super().keep_recording(recording_sid, data, content_type, filename)
            except PhoneError:
                if attempt == self.attempts:
                    raise
                self.failures += 1
                time.sleep(self.pause)
        raise AssertionError("unreachable")


def place_calls(base: str, audio: bytes, n: int, threads: int, *, consent: str = "share",
                during=None):
    """``n`` missed calls leaving a message, ``threads`` at a time, each from its own
    caller; ``during(done_count)`` is called by the main thread while they run.
    Returns (results, transports)."""
    results, transports, errors = [None] * n, [], []
    lock = threading.Lock()
    counter = iter(range(n))

    def caller():
        transport = RetryingHttp(base)
        with lock:
            transports.append(transport)
        phone = LocalPhone(transport)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            try:
                results[i] = phone.call(TRACKING, f"+336{10000000 + i:08d}", audio,
                                        consent=consent)
            except Exception as exc:  # reported by the test, not swallowed
                errors.append(f"call {i}: {exc!r}")

    pool = [threading.Thread(target=caller) for _ in range(threads)]
    for t in pool:
        t.start()
    while any(t.is_alive() for t in pool):
        if during is not None:
            during(sum(r is not None for r in results))
        time.sleep(0.05)
    for t in pool:
        t.join()
    assert not errors, errors[:5]
    return results, transports


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary folder on a free port (as user postgres when
    this runs as root: initdb refuses root)."""

    def __init__(self):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise RuntimeError("PostgreSQL's initdb is not installed (/usr/lib/postgresql).")
        self.bin = Path(found[-1]).parent
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="relais-pg-"))
        self.data = self.dir / "data"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/relais"

    def _run(self, *cmd: str, check=True):
        cmd = [str(c) for c in cmd]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {result.stdout}{result.stderr}")
        return result

    def pg_ctl(self, action: str, *extra: str, check=True):
        return self._run(self.bin / "pg_ctl", "-D", self.data, "-w", "-t", "60",
                         "-l", self.dir / "log", action, *extra, check=check)

    def start(self) -> "ThrowawayPostgres":
        self._run(self.bin / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust",
                  "--no-sync", "-E", "UTF8")
        self.pg_ctl("start", "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
                    " -c fsync=off")
        self._run(self.bin / "createdb", "-h", "127.0.0.1", "-p", str(self.port),
                  "-U", "postgres", "relais")
        return self

    def restart(self):
        self.pg_ctl("restart", "-m", "fast")

    def stop(self):
        if self.data.exists():
            self.pg_ctl("stop", "-m", "immediate", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
