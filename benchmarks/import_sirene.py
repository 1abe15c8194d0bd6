"""Import throughput of `relais import_sirene` on a generated StockEtablissement file.

    .venv/bin/python benchmarks/import_sirene.py --rows 1000000 [--database-url URL]

Generates the file first (not timed), then measures the **raw-load ceiling** of the same
file in the same run — PostgreSQL: ``COPY`` into an UNLOGGED all-text table; SQLite: the
faster of Python's ``executemany`` of the CSV's rows and the ``sqlite3`` shell's
``.import --csv`` (C, when the shell is installed), each into an all-text table in one
transaction with the journal off, in a separate database file —, then times the import
into an empty directory (the first load) and a second import of the same file (the
monthly refresh's path: stage and merge, nothing changes). ``ceiling_ratio`` is the first
import's wall time over the ceiling's. On PostgreSQL ``import_server_cpu_s`` is the
import connection's backend CPU time (the server is local). Prints one JSON line.

``--repeat N`` measures N pairs (ceiling, then a first import into a fresh database),
one after the other, so that a shared machine's slow moments fall on both: the figures
are then the medians, ``pair_ratios`` each pair's ratio and ``ceiling_ratio`` their
median (each import is compared with the ceiling measured just before it).
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _setup import LoadSampler, django_setup, prepare, process_cpu_s, relais


def _csv_lines(path: Path):
    """The file's CSV text lines (the CSV itself, or the one member of a .zip)."""
    import io
    import zipfile

    if path.suffix == ".zip":
        archive = zipfile.ZipFile(path)
        member = next(n for n in archive.namelist() if n.lower().endswith(".csv"))
        return io.TextIOWrapper(archive.open(member), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def sqlite_shell_ceiling(path: Path, data_dir: Path) -> float | None:
    """Seconds for the sqlite3 shell to .import the CSV into an all-text table (None
    without the shell, or for a .zip)."""
    import csv
    import shutil
    import subprocess

    shell = shutil.which("sqlite3")
    if not shell or path.suffix == ".zip":
        return None
    with open(path, encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    db_path = data_dir / "raw-ceiling-shell.sqlite3"
    columns = ", ".join(f"c{i} TEXT" for i in range(len(header)))
    subprocess.run([shell, str(db_path), "PRAGMA journal_mode=OFF;",
                    f"CREATE TABLE raw ({columns});"], check=True, capture_output=True)
    started = time.perf_counter()
    subprocess.run([shell, str(db_path), "PRAGMA journal_mode=OFF;",
                    "PRAGMA synchronous=OFF;",
                    ".import --csv --skip 1 '" + str(path).replace("'", "''") + "' raw"],
                   check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    db_path.unlink(missing_ok=True)
    return elapsed


def backend_cpu_s(connection) -> float | None:
    """CPU seconds of this connection's PostgreSQL backend (a local server; Linux)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return process_cpu_s(cursor.fetchone()[0])


def raw_load_ceiling(path: Path, connection, data_dir: Path) -> float:
    """Seconds to load ``path`` as-is into an all-text table, the plain way (COPY on
    PostgreSQL, executemany from Python on SQLite)."""
    import csv
    import sqlite3

    started = time.perf_counter()
    with _csv_lines(path) as lines:
        if connection.vendor == "postgresql":
            header = next(csv.reader([lines.readline()]))
            columns = ", ".join(f'"{c}" text' for c in header)
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS raw_ceiling")
                cursor.execute(f"CREATE UNLOGGED TABLE raw_ceiling ({columns})")
                started = time.perf_counter()
                with cursor.copy("COPY raw_ceiling FROM STDIN (FORMAT csv)") as copy:
                    while chunk := lines.read(1 << 20):
                        copy.write(chunk)
            elapsed = time.perf_counter() - started
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE raw_ceiling")
            return elapsed
        reader = csv.reader(lines)
        header = next(reader)
        db_path = data_dir / "raw-ceiling.sqlite3"
        db = sqlite3.connect(db_path, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            db.execute(f"CREATE TABLE raw ({', '.join(f'c{i} TEXT' for i in range(len(header)))})")
            marks = ", ".join("?" * len(header))
            db.execute("BEGIN")
            db.executemany(f"INSERT INTO raw VALUES ({marks})", reader)
            db.execute("COMMIT")
        finally:
            db.close()
            db_path.unlink(missing_ok=True)
    return time.perf_counter() - started


def fresh_database(database_url: str | None, data_dir: Path) -> None:
    """An empty, migrated database for the next first import (the same data folder)."""
    from django.db import connection

    connection.close()
    if not database_url:  # SQLite: the file goes, migrate makes it again
        database = Path(connection.settings_dict["NAME"])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    prepare(database_url, keep=str(data_dir))  # PostgreSQL: dropped and created again


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
    parser.add_argument("--repeat", type=int, default=1,
                        help="pairs of (ceiling, first import), each import into a fresh "
                        "database; medians are reported")
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

    pairs = []  # (ceilings, import seconds, client CPU, server CPU, load averages)
    for attempt in range(args.repeat):
        if attempt:
            fresh_database(args.database_url, data_dir)
        ceiling_load = LoadSampler()
        ceilings = {"ceiling_plain_s": raw_load_ceiling(path, connection, data_dir)}
        if connection.vendor == "sqlite":
            ceilings["ceiling_shell_s"] = sqlite_shell_ceiling(path, data_dir)
        ceiling_load = ceiling_load.mean()
        load = LoadSampler()
        server_cpu = backend_cpu_s(connection)
        started, cpu = time.perf_counter(), time.process_time()
        first = import_sirene(path, progress=False)
        import_s, import_cpu = time.perf_counter() - started, time.process_time() - cpu
        if server_cpu is not None:
            server_cpu = round(backend_cpu_s(connection) - server_cpu, 1)
        pairs.append((ceilings, import_s, import_cpu, server_cpu, ceiling_load, load.mean()))

    def median(values):
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    ceilings = {k: median(p[0][k] for p in pairs) for k in pairs[0][0]}
    ceiling_s = min(c for c in ceilings.values() if c is not None)
    import_s = median(p[1] for p in pairs)
    import_cpu, server_cpu = median(p[2] for p in pairs), median(p[3] for p in pairs)
    ceiling_load, import_load = median(p[4] for p in pairs), median(p[5] for p in pairs)
    pair_ratios = [round(p[1] / min(c for c in p[0].values() if c is not None), 2)
                   for p in pairs]
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
        # the same file loaded raw (all-text table) in this run, and the import's ratio
        "ceiling_s": round(ceiling_s, 2),
        **{k: round(v, 2) for k, v in ceilings.items() if v is not None},
        "ceiling_load_average": ceiling_load,
        "ceiling_ratio": median(pair_ratios),
        "pairs": len(pairs),
        "pair_ratios": pair_ratios,
        # CPU time of this process (all the work on SQLite; the client side on PostgreSQL):
        # the wall time above also waits for other jobs on a shared machine.
        "import_cpu_s": round(import_cpu, 1),
        "import_server_cpu_s": None if server_cpu is None else round(server_cpu, 1),
        "load_average": os.getloadavg()[0],
        "import_load_average": import_load,  # mean of 1-minute samples during the import
        "created": first.created,
        "skipped": first.skipped,
        "rejected": first.rejected,
        **figures,
    }))


if __name__ == "__main__":
    main()
