"""CPU time of one /api/v1/search request, in one process, through Django's WSGI handler.

    .venv/bin/python benchmarks/search_cpu.py --data-dir DIR [--requests 3000] [--passes 2]

DIR is a data folder prepared by ``benchmarks/search_load.py --data-dir DIR`` (SQLite).
The requests are search_load.py's mix (the same seed, the same paths), sent straight to
``django.core.handlers.wsgi.WSGIHandler`` with the request signals connected, as under
gunicorn (Django's test client disconnects the one that closes database connections, so
it hides their cost). No HTTP server and no client process: CPU time is what the request
costs whatever else runs on the machine. Cache off (``RELAIS_SEARCH_CACHE_SECONDS=0``)
and on (60 s, cleared first) alternately, one JSON line each.
"""

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _setup import LoadSampler, django_setup
from search import query_maker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True,
                        help="a folder prepared by search_load.py --data-dir")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--passes", type=int, default=2, help="rounds of cache off, on")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not (Path(args.data_dir) / "search-load-ready").exists():
        sys.exit(f"{args.data_dir}: prepare it first with search_load.py --data-dir")
    os.environ.update({"RELAIS_DATA_DIR": args.data_dir, "DEBUG": "false",
                       "SECRET_KEY": "benchmark-only", "LOG_LEVEL": "WARNING",
                       "DATABASE_URL": "", "SECURE_SSL_REDIRECT": "false"})
    os.environ.setdefault("TWILIO_ACCOUNT_SID", "AC" + "be" * 16)
    os.environ.setdefault("TWILIO_AUTH_TOKEN", "benchmark-only-token")
    django_setup()
    from django.conf import settings
    from django.core.cache import caches
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    from relais.directory.models import Establishment

    establishments = Establishment.objects.count()
    query = query_maker(args.seed)
    paths = [urlencode(query()) for _ in range(args.requests)]
    connection.close()
    app = WSGIHandler()
    status: list[str] = []
    queries = [0]

    def start_response(line, headers, exc_info=None):
        status.append(line)

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    def call(query_string: str) -> None:
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": "/api/v1/search",
            "QUERY_STRING": query_string, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
            "HTTP_HOST": "127.0.0.1:8000", "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_CONNECTION": "close",
            "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
            "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
        }
        body = app(environ, start_response)
        b"".join(body)
        body.close()

    for path in paths[:50]:  # warm: imports, the communes index, database pages
        call(path)
    for _ in range(args.passes):
        for seconds in (0, 60):
            settings.RELAIS_SEARCH_CACHE_SECONDS = seconds
            caches["search"].clear()
            status.clear()
            queries[0] = 0
            sampler = LoadSampler()
            started = time.process_time()
            with connection.execute_wrapper(count):
                for path in paths:
                    call(path)
            cpu = time.process_time() - started
            ok = sum(line.startswith("200") for line in status)
            print(json.dumps({
                "benchmark": "search_cpu",
                "database": connection.vendor,
                "establishments": establishments,
                "via": "WSGIHandler, request signals on (as under gunicorn), one process",
                "cache_seconds": seconds,
                "requests": len(paths), "distinct": len(set(paths)), "answered_200": ok,
                "cpu_ms_per_request": round(1000 * cpu / len(paths), 2),
                "queries_per_request": round(queries[0] / len(paths), 2),
                "load_average": sampler.mean(),
            }), flush=True)


if __name__ == "__main__":
    main()
