"""Search under HTTP load: a real gunicorn server, a constant-rate client in another process.

    .venv/bin/python benchmarks/search_load.py --establishments 1000000 --rates 200 \
        [--duration 60] [--workers 2] [--database-url URL]

Generates and imports N establishments and claims 300 listings (as benchmarks/search.py),
starts ``gunicorn relais.wsgi`` (sync workers), then for each rate runs
benchmarks/_open_loop.py in a second process: requests to /api/v1/search at a constant
rate (open loop, latency from each request's scheduled time), with search.py's query mix.
A 10-second warm-up at a quarter of the first rate comes first. Prints one JSON line per
rate.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _setup import ROOT, LoadSampler, django_setup, prepare, process_cpu_s, relais, stop
from fanout import free_port
from hangup import wait_http
from search import claim_listings, query_maker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--establishments", type=int, default=1_000_000)
    parser.add_argument("--rates", default="200", help="requests/s, comma-separated")
    parser.add_argument("--duration", type=float, default=60, help="seconds per rate")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", help="reuse a folder prepared by an earlier run "
                        "(SQLite; skips generation and import)")
    parser.add_argument("--database-url", help="a throw-away PostgreSQL database (name "
                        "containing 'bench'); default: SQLite in a temporary folder")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]

    os.environ["SECURE_SSL_REDIRECT"] = "false"
    if args.data_dir and (Path(args.data_dir) / "search-load-ready").exists():
        os.environ.update({"RELAIS_DATA_DIR": args.data_dir, "DEBUG": "false",
                           "SECRET_KEY": "benchmark-only", "LOG_LEVEL": "WARNING",
                           "DATABASE_URL": args.database_url or ""})
        django_setup()
        import_s = None
    else:
        data_dir = prepare(args.database_url, keep=args.data_dir)
        path = data_dir / "stock.csv"
        relais("generate_sirene", "--rows", str(args.establishments), "--seed",
               str(args.seed), "--out", str(path), "--no-progress", demo=True)
        django_setup()
        from relais.directory.importer import import_sirene

        started = time.perf_counter()
        import_sirene(path, progress=False)
        import_s = round(time.perf_counter() - started, 1)
        path.unlink()
        claim_listings(300, args.seed)
        if args.data_dir:
            (data_dir / "search-load-ready").touch()
    from django.db import connection

    from relais.directory.models import Establishment

    establishments = Establishment.objects.count()
    query = query_maker(args.seed)
    paths_file = Path(os.environ["RELAIS_DATA_DIR"]) / "search-paths.txt"
    paths_file.write_text("".join(f"/api/v1/search?{urlencode(query())}\n"
                                  for _ in range(50_000)))
    vendor = connection.vendor
    connection.close()

    def start_server() -> tuple[subprocess.Popen, int]:
        port = free_port()
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "relais.wsgi", "--bind",
             f"127.0.0.1:{port}", "--workers", str(args.workers), "--backlog", "2048"],
            cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # (a pipe nobody reads would block it once full)
        )
        wait_http(f"http://127.0.0.1:{port}/api/v1/openapi.json")
        return server, port

    def load(port: int, rate: float, duration: float) -> dict:
        out = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "_open_loop.py"), "--port", str(port),
             "--rate", str(rate), "--duration", str(duration), "--paths", str(paths_file)],
            capture_output=True, text=True, check=True,
        )
        return json.loads(out.stdout)

    for rate in rates:
        # A fresh server for each rate: an overloaded run leaves its backlog of abandoned
        # connections behind, which the next run would pay for.
        server, port = start_server()
        try:
            load(port, min(20.0, rate / 4), 10)  # warm-up: imports, caches, database pages
            sampler = LoadSampler()
            cpu_before = workers_cpu_s(server.pid)
            result = load(port, rate, args.duration)
            served = result["statuses"].get("200", 0)
            server_cpu = workers_cpu_s(server.pid) - cpu_before
            print(json.dumps({
                "benchmark": "search_load",
                "database": vendor,
                "establishments": establishments,
                "server": f"gunicorn, {args.workers} sync workers",
                "client": "benchmarks/_open_loop.py (asyncio, constant rate, other process)",
                "import_s": import_s,
                **result,
                # CPU time of gunicorn's workers per answered request: what a request costs
                # whatever else runs on the machine (2 cores ≈ 2000 / this requests/s).
                "server_cpu_ms_per_request": round(1000 * server_cpu / served, 1)
                if served else None,
                "load_average": sampler.mean(),
            }), flush=True)
        finally:
            stop(server)

def workers_cpu_s(master: int) -> float:
    """User + system CPU seconds of a process's children (gunicorn's workers), Linux."""
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return 0.0
    return sum(process_cpu_s(int(pid)) or 0.0 for pid in children)


if __name__ == "__main__":
    main()
