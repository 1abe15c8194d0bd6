"""Reference data shipped with Relais (data/): NAF rév. 2, communes, métiers.

Loaded after every ``migrate`` (post_migrate) and kept in sync idempotently: a hash of
each file is stored, so an unchanged file costs one query.
"""

import csv
import hashlib
import tomllib
import unicodedata
from functools import cache
from pathlib import Path

from django.db import connections, transaction

DATA = Path(__file__).resolve().parent / "data"
NAF_FILE = DATA / "naf_rev2.csv"
COMMUNES_FILE = DATA / "communes.csv"
METIERS_FILE = DATA / "metiers.toml"


_PUNCTUATION = str.maketrans({ch: " " for ch in "-'’_,.;:/()\""})


def normalise(text: str) -> str:
    """Lower-case, accent-free, single-spaced text with hyphens and apostrophes as spaces."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.lower().translate(_PUNCTUATION).split())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@cache
def metier_entries() -> tuple[dict, ...]:
    """The métier taxonomy as dicts, in file order."""
    with METIERS_FILE.open("rb") as f:
        entries = tomllib.load(f)["metier"]
    return tuple(
        {
            "slug": e["slug"],
            "label": e["label"],
            "naf_codes": list(e["naf"]),
            "default_for_naf": e.get("default", True),
            "shareable": e.get("shareable", True),
            "synonyms": list(e.get("synonyms", [])),
            "phrases": list(e.get("phrases", [])),
        }
        for e in entries
    )


@cache
def default_metiers_by_naf() -> dict[str, tuple[str, ...]]:
    """NAF sous-classe → slugs of the métiers an establishment of that code gets by default."""
    out: dict[str, list[str]] = {}
    for e in metier_entries():
        if e["default_for_naf"]:
            for code in e["naf_codes"]:
                out.setdefault(code, []).append(e["slug"])
    return {k: tuple(v) for k, v in out.items()}


@cache
def metiers_by_naf() -> dict[str, tuple[str, ...]]:
    """NAF sous-classe → slugs of every métier falling under it (defaults first)."""
    out: dict[str, list[str]] = {}
    for e in sorted(metier_entries(), key=lambda e: not e["default_for_naf"]):
        for code in e["naf_codes"]:
            out.setdefault(code, []).append(e["slug"])
    return {k: tuple(v) for k, v in out.items()}


def sync_reference_data(using: str = "default", force: bool = False) -> dict[str, int]:
    """Load or refresh NAF codes, communes and métiers when their files changed."""
    from relais.core.models import ReferenceVersion

    loaded = {}
    for name, path, loader in (
        ("naf", NAF_FILE, _load_naf),
        ("communes", COMMUNES_FILE, _load_communes),
        ("metiers", METIERS_FILE, _load_metiers),
    ):
        digest = _digest(path)
        current = ReferenceVersion.objects.using(using).filter(name=name).first()
        if current and current.digest == digest and not force:
            continue
        with transaction.atomic(using=using):
            loaded[name] = loader(using)
            ReferenceVersion.objects.using(using).update_or_create(
                name=name, defaults={"digest": digest}
            )
    return loaded


def _rows(model, fields: list[str], values: list[tuple], using: str) -> None:
    """Insert reference rows; when the table already has rows, update them in place.

    The empty-table path (every fresh database, and after each test-suite flush) uses a
    plain ``executemany`` because the ORM's bulk_create costs seconds for 35k communes.
    """
    manager = model.objects.using(using)
    if not manager.exists():
        conn = connections[using]
        q = conn.ops.quote_name
        columns = ", ".join(q(model._meta.get_field(f).column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        json_cols = [
            i for i, f in enumerate(fields)
            if model._meta.get_field(f).get_internal_type() == "JSONField"
        ]
        if json_cols:
            adapt = conn.ops.adapt_json_value
            values = [
                tuple(adapt(v, None) if i in json_cols else v for i, v in enumerate(row))
                for row in values
            ]
        sql = f"INSERT INTO {q(model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
        with conn.cursor() as cursor:
            cursor.executemany(sql, values)
        return
    pk = model._meta.pk.name
    attnames = [model._meta.get_field(f).attname for f in fields]  # parent → parent_id
    objs = [model(**dict(zip(attnames, v, strict=True))) for v in values]
    manager.bulk_create(
        objs, batch_size=1000, update_conflicts=True, unique_fields=[pk],
        update_fields=[f for f in fields if f != pk],
    )


@cache
def naf_rows() -> tuple[tuple, ...]:
    with NAF_FILE.open(encoding="utf-8", newline="") as f:
        # Parents come before children in the file (section → sous-classe).
        return tuple(
            (r["code"], r["niveau"], r["libelle"], r["parent"] or None) for r in csv.DictReader(f)
        )


@cache
def commune_rows() -> tuple[tuple, ...]:
    with COMMUNES_FILE.open(encoding="utf-8", newline="") as f:
        return tuple(
            (
                r["code_insee"], r["nom"], normalise(r["nom"]), r["type"], r["departement"],
                r["region"], r["codes_postaux"], int(r["population"] or 0),
                float(r["latitude"]), float(r["longitude"]),
            )
            for r in csv.DictReader(f)
        )


def _load_naf(using: str) -> int:
    from relais.directory.models import NafCode

    rows = naf_rows()
    _rows(NafCode, ["code", "level", "label", "parent"], list(rows), using)
    return len(rows)


def _load_communes(using: str) -> int:
    from relais.directory.models import Commune

    fields = ["code_insee", "name", "search_name", "kind", "departement", "region",
              "postal_codes", "population", "latitude", "longitude"]
    rows = commune_rows()
    _rows(Commune, fields, list(rows), using)
    return len(rows)


def _load_metiers(using: str) -> int:
    from relais.directory.models import Metier

    entries = metier_entries()
    fields = ["slug", "label", "naf_codes", "default_for_naf", "shareable", "synonyms", "phrases"]
    values = [tuple(e[f] for f in fields) for e in entries]
    _rows(Metier, fields, values, using)
    return len(entries)
