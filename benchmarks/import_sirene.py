"""Import throughput of `relais import_sirene` on a generated StockEtablissement file.

    .venv/bin/python benchmarks/import_sirene.py --rows 1000000 [--database-url URL]

Generates the file first (not timed), then times the import into an empty directory
and a second import of the same file (nothing changes). Prints one JSON line.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _setup import LoadSampler, django_setup, prepare, relais


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="a throw-away PostgreSQL database (name "
                        "containing 'bench'); default: SQLite in a temporary folder")
    parser.add_argument("--zip", action="store_true", help="import the .zip, not the CSV")
    parser.add_argument("--file", help="generate the file here and keep it; reuse it if it "
                        "exists (e.g. for the SQLite and PostgreSQL runs of one size)")
    parser.add_argument("--no-reimport", action="store_true",
                        help="skip the second import of the same file (national sizes)")
    args = parser.parse_args()

    data_dir = prepare(args.database_url)
    path = data_dir / ("stock.zip" if args.zip else "stock.csv")
    if args.file:
        path = Path(args.file)
    generate_s = None
    if not path.exists():
        generate_s = round(relais("generate_sirene", "--rows", str(args.rows), "--seed",
                                  str(args.seed), "--out", str(path), "--no-progress",
                                  demo=True), 1)
    django_setup()
    from django.db import connection

    from relais.directory.importer import import_sirene

    load = LoadSampler()
    started, cpu = time.perf_counter(), time.process_time()
    first = import_sirene(path, progress=False)
    import_s, import_cpu = time.perf_counter() - started, time.process_time() - cpu
    import_load = load.mean()
    figures = {}
    if not args.no_reimport:
        started = time.perf_counter()
        second = import_sirene(path, progress=False)
        reimport_s = time.perf_counter() - started
        figures = {
            "reimport_s": round(reimport_s, 1),
            "reimport_rows_per_s": round(args.rows / reimport_s),
            "reimport_updated": second.updated,
            "reimport_unchanged": second.unchanged,
        }
    print(json.dumps({
        "benchmark": "import_sirene",
        "database": connection.vendor,
        "rows": args.rows,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "generate_s": generate_s,
        "import_s": round(import_s, 1),
        "rows_per_s": round(args.rows / import_s),
        # CPU time of this process (all the work on SQLite; the client side on PostgreSQL):
        # the wall time above also waits for other jobs on a shared machine.
        "import_cpu_s": round(import_cpu, 1),
        "load_average": os.getloadavg()[0],
        "import_load_average": import_load,  # mean of 1-minute samples during the import
        "created": first.created,
        "skipped": first.skipped,
        "rejected": first.rejected,
        **figures,
    }))


if __name__ == "__main__":
    main()
