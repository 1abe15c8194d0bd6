"""Directory search latency on a generated directory of N establishments.

    .venv/bin/python benchmarks/search.py --establishments 1000000 [--database-url URL]

Generates and imports N establishments (France, population-weighted), claims a few
hundred listings, then runs a few hundred realistic searches (a métier near a commune,
a postal code or a position; words of trade names; later pages) through the JSON API
view (/api/v1/search: parsing, search, serialisation). Prints one JSON line.
"""

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _setup import django_setup, prepare, relais

TRADES = ["plombier", "électricien", "serrurier", "chauffagiste", "peintre", "maçon",
          "couvreur", "menuisier", "carreleur", "paysagiste", "coiffeur", "garagiste",
          "taxi", "traiteur", "photographe", "nettoyage", "déménageur", "expert-comptable",
          "architecte", "avocat", "infirmier", "kinésithérapeute", "fuite d'eau",
          "porte claquée", "panne de courant", "création de site web", "cours particuliers"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--establishments", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="a throw-away PostgreSQL database (name "
                        "containing 'bench'); default: SQLite in a temporary folder")
    args = parser.parse_args()

    import os

    data_dir = prepare(args.database_url)
    os.environ["SECURE_SSL_REDIRECT"] = "false"
    path = data_dir / "stock.csv"
    relais("generate_sirene", "--rows", str(args.establishments), "--seed", str(args.seed),
           "--out", str(path), "--no-progress", demo=True)
    django_setup()
    from django.db import connection
    from django.test import Client

    from relais.directory.importer import import_sirene
    from relais.directory.models import Establishment

    started = time.perf_counter()
    imported = import_sirene(path, progress=False)
    import_s = time.perf_counter() - started
    path.unlink()
    claim_listings(300, args.seed)

    query = query_maker(args.seed)

    client = Client(HTTP_HOST="127.0.0.1")
    for _ in range(30):  # warm caches (communes index, NAF labels, database pages)
        client.get("/api/v1/search", query())
    timings, results = [], []
    for _ in range(args.queries):
        q = query()
        started = time.perf_counter()
        response = client.get("/api/v1/search", q)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (q, response.content[:300])
        results.append(len(response.json()["results"]))
    timings.sort()

    def pct(p: float) -> float:
        return round(timings[min(len(timings) - 1, int(p / 100 * len(timings)))], 1)

    print(json.dumps({
        "benchmark": "search",
        "database": connection.vendor,
        "establishments": Establishment.objects.count(),
        "file_rows": args.establishments,
        "import_s": round(import_s, 1),
        "import_rows_per_s": round(imported.read / import_s),
        "queries": len(timings),
        "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99),
        "max_ms": round(timings[-1], 1), "mean_ms": round(statistics.mean(timings), 1),
        "mean_results": round(statistics.mean(results), 1),
    }))


def query_maker(seed: int):
    """A function returning realistic search parameters, drawn with ``seed``."""
    from relais.directory.models import Commune, NameToken

    rng = random.Random(seed)
    communes = list(Commune.objects.exclude(code_insee__in=["75056", "69123", "13055"])
                    .order_by("-population").values_list("name", "postal_codes", "latitude",
                                                         "longitude")[:400])
    weights = [1 / (i + 1) for i in range(len(communes))]
    tokens = list(NameToken.objects.filter(token__regex=r"^[a-z]{4,}$")  # noqa: S106
                  .values_list("token", flat=True).distinct()[:3000])

    def query() -> dict:
        name, postal, lat, lon = rng.choices(communes, weights)[0]
        kind = rng.random()
        if kind < 0.15:
            return {"quoi": rng.choice(tokens), "ou": name}
        q = {"quoi": rng.choice(TRADES)}
        if kind < 0.65:
            q["ou"] = name
        elif kind < 0.80:
            q["ou"] = rng.choice(postal.split())
        else:
            q["lat"] = f"{lat + rng.uniform(-0.05, 0.05):.5f}"
            q["lon"] = f"{lon + rng.uniform(-0.05, 0.05):.5f}"
        if rng.random() < 0.1:
            q["page"] = str(rng.choice([2, 3]))
        return q

    return query


def claim_listings(count: int, seed: int) -> None:
    """Approved listings with their NAF code's métiers plus one more, as pros would."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from relais.directory.models import Establishment
    from relais.pros.models import Listing, Professional
    from relais.pros.services import approve

    rng = random.Random(seed)
    sirets = list(Establishment.objects.filter(naf_code__in=["43.22A", "43.21A", "82.30Z"])
                  .values_list("siret", flat=True)[:count * 3])
    for i, siret in enumerate(rng.sample(sirets, min(count, len(sirets)))):
        user = get_user_model().objects.create_user(f"bench{i}@example.org")
        pro = Professional.objects.create(user=user, email_verified_at=timezone.now())
        listing = Listing.objects.create(establishment_id=siret, professional=pro)
        approve([listing])
        if i % 3 == 0:
            listing.metiers.add("debouchage" if i % 2 else "organisateur-brocantes")


if __name__ == "__main__":
    main()
