"""Fan-out: one shared request routed to 1,000 professionals, emailed through real SMTP.

    .venv/bin/python benchmarks/fanout.py [--recipients 1000] [--workers 1] [--database-url URL]

Sets up N approved, claimed plumber listings within 50 km of Nantes (instant
notifications, radius 80 km) and a voicemail already understood as a shareable plumbing
request with the caller's consent, with ``RELAIS_ROUTING_MAX_RECIPIENTS=N``. An aiosmtpd
server runs in its own process (benchmarks/_smtp_sink.py) and ``relais db_worker`` on
the notifications queue in W other processes, started and idle before the clock starts.

Timed: the route step's work (``route_voicemail``: index search, live re-check, policy,
N + 1 deliveries) and the notify step's (``dispatch_voicemail``: N + 1 send tasks), in
this process, then the workers claim, render and send each email; the clock stops when
the SMTP server has accepted the last one. Prints one JSON line.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _setup import ROOT, LoadSampler, django_setup, prepare, stop

NANTES = (47.2184, -1.5536)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """benchmarks/_smtp_sink.py in a second process; collects acceptance times."""

    def __init__(self):
        self.port = free_port()
        self.times: list[float] = []
        self.emails = 0
        self.changed = threading.Condition()
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "benchmarks" / "_smtp_sink.py"), str(self.port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout.readline().strip() == "ready"
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            t, n = line.split()
            with self.changed:
                self.times.append(float(t))
                self.emails += int(n)
                self.changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.times) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
        return True

    def stop(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def make_listings(count: int, seed: int) -> None:
    """N claimed plumber listings spread over a 45 km disc around Nantes."""
    import math

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from relais.directory.models import Establishment, Metier
    from relais.pros.models import Listing, Professional

    rng = random.Random(seed)
    plumber = Metier.objects.get(slug="plombier")
    users = get_user_model().objects
    now = timezone.now()
    with transaction.atomic():
        for i in range(count + 1):
            km, angle = 45 * math.sqrt(rng.random()) if i else 0.0, rng.uniform(0, 2 * math.pi)
            lat = NANTES[0] + km * math.cos(angle) / 111.195
            lon = NANTES[1] + km * math.sin(angle) / (111.195 * math.cos(math.radians(lat)))
            siret = f"9{i:013d}"
            est = Establishment.objects.create(
                siret=siret, siren=siret[:9], name=f"Plomberie {i}", latitude=lat,
                longitude=lon, active=True, naf_code="43.22A")
            user = users.create_user(username=f"fanout{i}", email=f"pro{i}@example.org")
            pro = Professional.objects.create(user=user, email_verified_at=now)
            listing = Listing.objects.create(
                establishment=est, professional=pro, status=Listing.Status.APPROVED,
                service_radius_km=80, notification_email=f"pro{i}@example.org",
                notify=Listing.Notify.INSTANT, approved_at=now)
            listing.metiers.set([plumber])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1,
                        help="db_worker processes on the notifications queue")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--database-url", help="a throw-away PostgreSQL database (name "
                        "containing 'bench'); default: SQLite in a temporary folder")
    args = parser.parse_args()

    sink = SmtpSink()
    os.environ.update({
        "RELAIS_ROUTING_MAX_RECIPIENTS": str(args.recipients),
        "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
        "RELAIS_PUBLIC_URL": "https://relais.example.org",
    })
    prepare(args.database_url)
    django_setup()
    from django.db import connection, transaction
    from django.db.models import Count

    from relais.routing import notifications, services
    from relais.routing.models import Delivery
    from relais.voicemail.models import Voicemail

    started = time.perf_counter()
    make_listings(args.recipients, args.seed)
    setup_s = time.perf_counter() - started
    from relais.pros.models import Listing

    called = Listing.objects.get(establishment_id="90000000000000")
    sys.path.insert(0, str(ROOT))
    from tests.factories import voicemail

    vm = voicemail(called)
    connection.close()

    logs = [tempfile.TemporaryFile("w+") for _ in range(args.workers)]  # never a full pipe
    workers = [subprocess.Popen(
        [sys.executable, "-m", "relais.cli", "db_worker", "--queue-name", "notifications",
         "--no-schedule", "--no-startup-delay", "--interval", "0.1"],
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=log,
    ) for log in logs]
    try:
        time.sleep(8)  # the workers are up and idle (Django loaded, polling)
        for w, log in zip(workers, logs, strict=True):
            if w.poll() is not None:
                log.seek(0)
                sys.exit(f"worker exited: {log.read()[-2000:]}")
        load = LoadSampler()
        t0 = time.time()
        with transaction.atomic():
            services.route_voicemail(vm)
        t_routed = time.time()
        with transaction.atomic():
            enqueued = notifications.dispatch_voicemail(Voicemail.objects.get(pk=vm.pk))
        t_dispatched = time.time()
        expected = enqueued
        complete = sink.wait_for(expected, args.timeout)
        t_end = sink.times[-1] if sink.times else time.time()
        load_average = load.mean()
    finally:
        stop(*workers)
        sink.stop()

    statuses = dict(Delivery.objects.filter(voicemail=vm).values_list("status")
                    .annotate(n=Count("pk"))
                    .order_by())
    total = t_end - t0
    accepted = len(sink.times)
    first = sink.times[0] - t0 if sink.times else None
    print(json.dumps({
        "benchmark": "fanout",
        "database": connection.vendor,
        "recipients": args.recipients,
        "workers": args.workers,
        "emails_expected": expected,
        "emails_accepted": accepted,
        "complete": complete,
        "route_s": round(t_routed - t0, 2),
        "dispatch_s": round(t_dispatched - t_routed, 2),
        "first_email_s": round(first, 2) if first is not None else None,
        "total_s": round(total, 1),
        "emails_per_s": round(accepted / total, 1),
        "sending_emails_per_s": round(accepted / (t_end - t_dispatched), 1),
        "delivery_statuses": statuses,
        "setup_s": round(setup_s, 1),
        "load_average": load_average,
    }))


if __name__ == "__main__":
    main()
