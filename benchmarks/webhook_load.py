"""Concurrent calls through the webhooks of a live server: latency under load.

    .venv/bin/python benchmarks/webhook_load.py [--calls 100] [--concurrency 100]
        [--web-workers 4] [--database-url postgres://…/relais_webhooks_bench]

gunicorn (``--web-workers`` sync workers) on a fresh data folder and database; ``--calls``
missed calls leaving a shared message, ``--concurrency`` at a time, each through the local
phone over HTTP (every request signed with Twilio's RequestValidator scheme, 6 requests
per call). The task queue is not drained: this measures the web tier. Prints one JSON
line: calls, requests, errors, p50/p99/max latency per request, calls/s. The same
scenario is a test (tests/faults/test_load.py), which asserts that nothing is lost.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from benchmarks._setup import django_setup, prepare, relais  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or None,
                        help="a PostgreSQL database whose name contains 'bench' (reset)")
    args = parser.parse_args()
    os.environ["RELAIS_DEMO"] = "1"  # the local phone plays the provider
    prepare(args.database_url)
    # RELAIS_DEMO: the server runs the local provider the local phone uploads to.
    os.environ.update(SECURE_SSL_REDIRECT="false", SESSION_COOKIE_SECURE="false",
                      CSRF_COOKIE_SECURE="false", RELAIS_DEMO="1")
    django_setup()
    from relais.voicemail.models import Voicemail
    from tests.factories import tone_wav
    from tests.faults.live import SEED, percentile, place_calls, start_web, stop

    relais("shell", "-c", SEED)

    web, base = start_web(dict(os.environ), workers=args.web_workers)
    try:
        began = time.perf_counter()
        results, transports = place_calls(base, tone_wav(1.0), args.calls,
                                          threads=args.concurrency)
        elapsed = time.perf_counter() - began
    finally:
        stop(web)
    latencies = [x for t in transports for x in t.latencies]
    print(json.dumps({
        "benchmark": "webhook_load",
        "database": "postgresql" if args.database_url else "sqlite",
        "calls": args.calls, "concurrency": args.concurrency,
        "web_workers": args.web_workers, "requests": len(latencies),
        "retried_requests": sum(t.failures for t in transports),
        "call_errors": sum(bool(r.errors) for r in results),
        "voicemails": Voicemail.objects.count(),
        "calls_per_s": round(args.calls / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
    }))


if __name__ == "__main__":
    main()
