"""Run every benchmark, each in its own process; forward their JSON lines, then a summary.

    .venv/bin/python benchmarks/run_all.py                       # 1M establishments
    .venv/bin/python benchmarks/run_all.py --establishments 10000000
    .venv/bin/python benchmarks/run_all.py --quick               # a small smoke run
    .venv/bin/python benchmarks/run_all.py --only fanout,hangup
    .venv/bin/python benchmarks/run_all.py --database-url postgres://postgres@127.0.0.1:5432/relais_bench

Each benchmark's JSON lines go to stdout as they come (with ``"run_all_seconds"``, the
benchmark process's wall time, added to its last line); their progress goes to stderr.
The last line is a summary: which ran, which failed (exit status and the end of their
stderr), and the machine's load average before and after. The exit status is 1 if any
benchmark failed. ``--database-url`` names a throw-away PostgreSQL database (its name
must contain "bench": the benchmarks drop and create it); the benchmarks without a
database (transcription, classification) ignore it.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def plan(args) -> list[tuple[str, list[str]]]:
    """(name, arguments) of each benchmark, in the order they run."""
    quick = args.quick
    n = str(args.establishments or (20_000 if quick else 1_000_000))
    db = ["--database-url", args.database_url] if args.database_url else []
    return [
        ("calls", ["--calls", "30" if quick else "300"]),
        ("webhook_load", ["--calls", "20" if quick else "100", *db]),
        ("import_sirene", ["--rows", n, *db, *(["--no-reimport"]
                                              if int(n) > 2_000_000 else [])]),
        ("search", ["--establishments", n, *db, "--queries", "100" if quick else "400"]),
        ("search_load", ["--establishments", n, *db,
                         "--rates", "50" if quick else "200",
                         "--duration", "5" if quick else "60"]),
        ("routing", ["--establishments", n, *db, "--rounds", "1" if quick else "5",
                     "--queries", "300" if quick else "3000",
                     *(["--naive-queries", "30", "--no-postgis"] if quick else [])]),
        ("fanout", ["--recipients", "50" if quick else "1000", *db]),
        ("hangup", ["--seconds", "10" if quick else "30", *db]),
        ("console", ["--days", "30" if quick else "365", "--raw-days", "3" if quick else "14",
                     "--per-day", "500" if quick else "5000", *db]),
        ("transcription", ["--seconds", "10", "--runs", "1"] if quick else []),
        ("classification", ["--seconds", "1"] if quick else []),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--establishments", type=int,
                        help="directory size for import, search, search under load and routing "
                        "(default 1,000,000; 20,000 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes and few repetitions: checks that everything runs")
    parser.add_argument("--only", help="comma-separated benchmark names")
    parser.add_argument("--skip", help="comma-separated benchmark names")
    parser.add_argument("--database-url", help="a throw-away PostgreSQL database")
    args = parser.parse_args()

    benchmarks = plan(args)
    names = [name for name, _ in benchmarks]
    only = set(args.only.split(",")) if args.only else set(names)
    skip = set(args.skip.split(",")) if args.skip else set()
    unknown = (only | skip) - set(names)
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; "
                 f"known: {', '.join(names)}")

    env = dict(os.environ)
    if args.database_url:
        env["DATABASE_URL"] = args.database_url  # calls.py reads it from the environment
    summary = {"benchmark": "run_all", "ran": [], "failed": {}, "seconds": {},
               "load_average_before": round(os.getloadavg()[0], 2)}
    started_all = time.perf_counter()
    for name, extra in benchmarks:
        if name not in only or name in skip:
            continue
        command = [sys.executable, str(HERE / f"{name}.py"), *extra]
        print(f"run_all: {' '.join(command[1:])}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env=env, cwd=HERE.parent)
        stderr_tail: list[str] = []

        def pump_stderr(stream=process.stderr, tail=stderr_tail):
            for line in stream:
                sys.stderr.write(line)
                tail.append(line)
                del tail[:-20]

        pump = threading.Thread(target=pump_stderr, daemon=True)
        pump.start()
        lines = []
        for line in process.stdout:
            line = line.strip()
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                if line:
                    print(f"{name}: {line}", file=sys.stderr, flush=True)
                continue
            if len(lines) > 1:  # forward all but the last one at once
                print(json.dumps(lines[-2], ensure_ascii=False), flush=True)
        status = process.wait()
        pump.join(timeout=5)
        seconds = round(time.perf_counter() - started, 1)
        if lines:
            print(json.dumps({**lines[-1], "run_all_seconds": seconds}, ensure_ascii=False),
                  flush=True)
        summary["seconds"][name] = seconds
        if status != 0 or not lines:
            summary["failed"][name] = {"status": status,
                                       "stderr": "".join(stderr_tail[-5:])[-1000:]}
        else:
            summary["ran"].append(name)
    summary["total_seconds"] = round(time.perf_counter() - started_all, 1)
    summary["load_average_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    sys.exit(1 if summary["failed"] else 0)


if __name__ == "__main__":
    main()
