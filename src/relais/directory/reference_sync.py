"""Load the reference data files (relais.directory.reference) into the database.

Run after every ``migrate`` (post_migrate, connected in DirectoryConfig.ready()) and kept
in sync idempotently: a hash of each file is stored, so an unchanged file costs one query.
"""

import hashlib
from pathlib import Path

from django.db import connections, transaction

from relais.core.models import ReferenceVersion

from .models import Commune, Metier, NafCode
from .reference import (
    COMMUNES_FILE,
    METIERS_FILE,
    NAF_FILE,
    commune_rows,
    metier_entries,
    naf_rows,
)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sync_after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate receiver."""
    sync_reference_data(using=using)


def sync_reference_data(using: str = "default", force: bool = False) -> dict[str, int]:
    """Load or refresh NAF codes, communes and métiers when their files changed."""
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


def _load_naf(using: str) -> int:
    rows = naf_rows()
    _rows(NafCode, ["code", "level", "label", "parent"], list(rows), using)
    return len(rows)


def _load_communes(using: str) -> int:
    fields = ["code_insee", "name", "search_name", "kind", "departement", "region",
              "postal_codes", "population", "latitude", "longitude"]
    rows = commune_rows()
    _rows(Commune, fields, list(rows), using)
    return len(rows)


def _load_metiers(using: str) -> int:
    entries = metier_entries()
    fields = ["slug", "label", "naf_codes", "default_for_naf", "shareable", "synonyms", "phrases"]
    values = [tuple(e[f] for f in fields) for e in entries]
    _rows(Metier, fields, values, using)
    return len(entries)
