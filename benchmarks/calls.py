"""Webhook throughput: complete calls placed by the local phone through the real webhooks.

    .venv/bin/python benchmarks/calls.py [--calls 200] [--data-dir DIR]

In-process (Django's full request stack, signature checks, SQLite or DATABASE_URL), half
the calls answered, half leaving a shared message (which also enqueues the download).
Prints one JSON line: calls/s, per-call and per-request latencies.
"""

import argparse
import io
import json
import math
import os
import statistics
import struct
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def tone(seconds: float = 5.0, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(6000 * math.sin(i / 3)))
                               for i in range(int(seconds * rate))))
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--data-dir", help="RELAIS_DATA_DIR (default: a new temporary one)")
    args = parser.parse_args()
    os.environ["RELAIS_DATA_DIR"] = args.data_dir or tempfile.mkdtemp(prefix="relais-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relais.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    os.environ["RELAIS_DEMO"] = "1"
    os.environ["RELAIS_CALLER_RATE_LIMIT"] = "0"
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")  # http://127.0.0.1 public URL
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from relais.calls.models import TrackingNumber
    from relais.demo.phone import InProcess, LocalPhone
    from relais.directory.models import Establishment
    from relais.pros.models import Listing, Professional

    call_command("migrate", verbosity=0)
    est, _ = Establishment.objects.get_or_create(
        siret="12345678900011", defaults={"siren": "123456789", "name": "Bench plomberie"})
    user, _ = get_user_model().objects.get_or_create(username="bench@example.org")
    pro, _ = Professional.objects.get_or_create(user=user)
    listing, _ = Listing.objects.get_or_create(
        establishment=est, defaults={"professional": pro, "status": "approved",
                                     "forward_number": "+33639989999"})
    TrackingNumber.objects.get_or_create(e164="+33199000001", defaults={"listing": listing})

    phone = LocalPhone(InProcess())
    audio = tone()
    per_call, per_request, errors = [], [], 0
    began = time.perf_counter()
    for i in range(args.calls):
        start = time.perf_counter()
        answered = i % 2 == 0
        result = phone.call("+33199000001", f"+3363998{i % 10000:04d}", audio,
                            answer="answer" if answered else "no-answer", consent="share")
        elapsed = time.perf_counter() - start
        per_call.append(elapsed)
        per_request.append(elapsed / len(result.requests))
        errors += len(result.errors) + (0 if answered or result.voicemail_reference else 1)
    total = time.perf_counter() - began

    def pct(values, q):
        return round(statistics.quantiles(values, n=100)[q - 1] * 1000, 1)

    from django.db import connection

    print(json.dumps({
        "benchmark": "calls", "database": connection.vendor, "calls": args.calls,
        "errors": errors, "calls_per_second": round(args.calls / total, 1),
        "call_ms_p50": pct(per_call, 50), "call_ms_p95": pct(per_call, 95),
        "request_ms_p50": pct(per_request, 50), "request_ms_p95": pct(per_request, 95),
    }))


if __name__ == "__main__":
    main()
