"""The number pool at national scale: the lookup a call makes, and binding a number.

    .venv/bin/python benchmarks/number_pool.py [--numbers 20000] [--bindings 2000000]
        [--lookups 5000] [--binds 2000] [--database-url URL]

Sets up a pool of N numbers and a history of M bindings (what ``RELAIS_POOL_KEEP_DAYS``
keeps: 2,000,000 ≈ 12,000 numbers shown per hour for a week), each number's bindings
one after the other with the binding time and the quiet period between them, then
times:

- ``lookup_read`` — the read alone (relais.directory.pool.binding_at);
- ``resolve`` — what an incoming call asks (relais.directory.pool.resolve: the binding
  of this number at this time, then pushing its quiet period), for random numbers at
  random times within the history;
- ``bind`` — a visitor asks a listing's number (a free number claimed by a conditional
  UPDATE, one binding row), on numbers made free for it.

Prints one JSON line (p50/p99 in ms, the load average).
"""

import argparse
import json
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _setup import LoadSampler, django_setup, prepare


def pct(values, q):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=20_000)
    parser.add_argument("--bindings", type=int, default=2_000_000)
    parser.add_argument("--lookups", type=int, default=5_000)
    parser.add_argument("--binds", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    prepare(args.database_url)
    django_setup()
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from relais.directory import pool
    from relais.directory.models import PoolBinding, PoolNumber

    rng = random.Random(args.seed)
    binding = timedelta(seconds=settings.RELAIS_POOL_BINDING_SECONDS)
    quiet = timedelta(seconds=settings.RELAIS_POOL_QUIET_SECONDS)
    step = binding + quiet
    per_number = max(1, args.bindings // args.numbers)
    now = timezone.now()
    start = now - step * per_number
    t0 = time.perf_counter()
    with transaction.atomic():
        PoolNumber.objects.bulk_create(
            [PoolNumber(e164=f"+339{n:08d}", free_at=now) for n in range(args.numbers)],
            batch_size=5000)
        ids = list(PoolNumber.objects.order_by("pk").values_list("pk", flat=True))
        table = connection.ops.quote_name(PoolBinding._meta.db_table)
        insert = (f"INSERT INTO {table} (number_id, siret, visitor, bound_at, expires_at, "
                  "quiet_until) VALUES (%s, %s, %s, %s, %s, %s)")
        adapt = connection.ops.adapt_datetimefield_value
        with connection.cursor() as cursor:
            for k in range(per_number):
                bound = start + step * k
                times = (adapt(bound), adapt(bound + binding), adapt(bound + step))
                cursor.executemany(insert, [
                    (pk, f"{rng.randrange(10**13):014d}", f"{rng.getrandbits(128):032x}",
                     *times) for pk in ids])
    if connection.vendor == "postgresql":
        with connection.cursor() as c:
            c.execute("ANALYZE")
    setup_s = time.perf_counter() - t0
    print(f"set up {args.numbers} numbers, {per_number * len(ids)} bindings in "
          f"{setup_s:.0f} s", file=sys.stderr)

    load = LoadSampler()
    span = (now - start).total_seconds()
    lookups, reads, wrong = [], [], 0
    for _ in range(args.lookups):
        n = rng.randrange(args.numbers)
        offset = rng.uniform(0, span - 1)
        at = start + timedelta(seconds=offset)
        expected = (PoolBinding.objects.filter(number_id=ids[n], bound_at=start + step * int(
            offset // step.total_seconds())).values_list("siret", flat=True).first())
        t = time.perf_counter()
        pool.binding_at(f"+339{n:08d}", at)
        reads.append(time.perf_counter() - t)
        t = time.perf_counter()
        siret = pool.resolve(f"+339{n:08d}", at)
        lookups.append(time.perf_counter() - t)
        wrong += siret != expected
    # binding: free numbers (their quiet periods over), visitors on random listings
    binds = []
    later = now + step * 2
    for _ in range(args.binds):
        siret = f"{rng.randrange(10**13):014d}"
        visitor = f"{rng.getrandbits(128):064x}"
        t = time.perf_counter()
        number = pool.bind(siret, visitor, later)
        binds.append(time.perf_counter() - t)
        assert number is not None
    print(json.dumps({
        "benchmark": "number_pool",
        "database": connection.vendor,
        "numbers": args.numbers,
        "bindings": per_number * len(ids),
        "lookups": args.lookups,
        "lookup_wrong_listing": wrong,
        "lookup_read_p50_ms": pct(reads, 0.5),
        "lookup_read_p99_ms": pct(reads, 0.99),
        "resolve_p50_ms": pct(lookups, 0.5),
        "resolve_p99_ms": pct(lookups, 0.99),
        "resolve_mean_ms": round(statistics.mean(lookups) * 1000, 3),
        "binds": args.binds,
        "bind_p50_ms": pct(binds, 0.5),
        "bind_p99_ms": pct(binds, 0.99),
        "setup_s": round(setup_s, 1),
        "load_average": load.mean(),
    }))


if __name__ == "__main__":
    main()
