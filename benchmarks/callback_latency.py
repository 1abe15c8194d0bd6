"""Webhook latency of a call-back through Relais (relais.callbacks).

    .venv/bin/python benchmarks/callback_latency.py [--callbacks 100] [--data-dir DIR]

In-process (Django's full request stack, signature checks, SQLite or DATABASE_URL): for
each of ``--callbacks`` shared messages, the recipient clicks "Rappeler via Relais"
(``start``: the checks, the row, the local provider's call placed), then the local
provider plays both legs through the real webhooks — the professional answers (``pro``:
whisper + <Dial>), the caller's whisper (``caller``), the bridge ends after 45 s (``dial``:
the charge), the professional's leg ends (``status``). Prints one JSON line per webhook
(p50/p95/max in ms) and a summary line (per call-back, charged count).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callbacks", type=int, default=100)
    parser.add_argument("--data-dir", help="RELAIS_DATA_DIR (default: a new temporary one)")
    args = parser.parse_args()
    os.environ["RELAIS_DATA_DIR"] = args.data_dir or tempfile.mkdtemp(prefix="relais-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relais.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    os.environ["RELAIS_DEMO"] = "1"
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["RELAIS_CALLBACK_MAX_PER_DAY"] = "1000"

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from relais.callbacks import services
    from relais.callbacks.models import Callback
    from relais.calls.models import TrackingNumber
    from relais.calls.providers import local
    from relais.credits import services as credits
    from relais.demo.callback_phone import play
    from relais.demo.phone import InProcess
    from tests import factories as f
    from tests.factories import NANTES, offset

    called = f.listing(*NANTES, ["plombier"], name="Bench appelé", email="a@example.org")
    mine = f.listing(*offset(*NANTES, 3), ["plombier"], name="Bench rappel",
                     email="b@example.org")
    mine.forward_number = "+33639981111"
    mine.save(update_fields=["forward_number"])
    TrackingNumber.objects.get_or_create(e164="+33199001111", defaults={"listing": mine})
    credits.grant(mine.professional, 10 * args.callbacks, by=None)

    class Timed(InProcess):
        def __init__(self):
            super().__init__()
            self.latencies: dict[str, list[float]] = defaultdict(list)

        def post(self, url, params):
            began = time.perf_counter()
            status, body = super().post(url, params)
            self.latencies[url.rsplit("/", 1)[-1]].append(time.perf_counter() - began)
            return status, body

    transport = Timed()
    per_callback, starts, errors = [], [], 0
    began = time.perf_counter()
    for i in range(args.callbacks):
        vm = f.voicemail(called, caller=f"+3361234{i % 10000:04d}", audio=False)
        _own, shared = f.route(vm)
        d = next(x for x in shared if x.listing_id == mine.pk)
        t0 = time.perf_counter()
        with local.manual_dialing():
            services.start(d, mine.professional.user)
            (call, sid), = local.take_placed()
        starts.append(time.perf_counter() - t0)
        result = play(transport, call, sid, seconds=45)
        errors += len(result.errors)
        per_callback.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - began
    for name, values in sorted(transport.latencies.items()):
        print(json.dumps({"benchmark": "callback_latency", "webhook": name,
                          "requests": len(values), "p50_ms": pct(values, 0.5),
                          "p95_ms": pct(values, 0.95), "max_ms": pct(values, 1.0)}))
    print(json.dumps({
        "benchmark": "callback_latency", "webhook": "all (start + 4 webhooks)",
        "callbacks": args.callbacks, "errors": errors,
        "charged": Callback.objects.filter(charged_credits__gt=0).count(),
        "start_p50_ms": pct(starts, 0.5), "callback_p50_ms": pct(per_callback, 0.5),
        "callback_p95_ms": pct(per_callback, 0.95),
        "mean_ms": round(statistics.mean(per_callback) * 1000, 2),
        "seconds_total": round(elapsed, 2),
        "database": django.db.connection.vendor, "load_average": os.getloadavg(),
    }))


if __name__ == "__main__":
    main()
