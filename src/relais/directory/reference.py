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

from django.db import transaction

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


def _load_naf(using: str) -> int:
    from relais.directory.models import NafCode

    with NAF_FILE.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    existing = set(NafCode.objects.using(using).values_list("code", flat=True))
    # Parents come before children in the file (section → sous-classe).
    objs = [
        NafCode(
            code=r["code"], level=r["niveau"], label=r["libelle"], parent_id=r["parent"] or None
        )
        for r in rows
    ]
    new = [o for o in objs if o.code not in existing]
    NafCode.objects.using(using).bulk_create(new, batch_size=2000)
    changed = [o for o in objs if o.code in existing]
    NafCode.objects.using(using).bulk_update(changed, ["level", "label", "parent"], batch_size=2000)
    return len(rows)


def _load_communes(using: str) -> int:
    from relais.directory.models import Commune

    with COMMUNES_FILE.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    objs = [
        Commune(
            code_insee=r["code_insee"],
            name=r["nom"],
            search_name=normalise(r["nom"]),
            kind=r["type"],
            departement=r["departement"],
            region=r["region"],
            postal_codes=r["codes_postaux"],
            population=int(r["population"] or 0),
            latitude=float(r["latitude"]),
            longitude=float(r["longitude"]),
        )
        for r in rows
    ]
    fields = ["name", "search_name", "kind", "departement", "region", "postal_codes",
              "population", "latitude", "longitude"]
    Commune.objects.using(using).bulk_create(
        objs, batch_size=2000, update_conflicts=True, unique_fields=["code_insee"],
        update_fields=fields,
    )
    return len(objs)


def _load_metiers(using: str) -> int:
    from relais.directory.models import Metier

    entries = metier_entries()
    objs = [Metier(**e) for e in entries]
    Metier.objects.using(using).bulk_create(
        objs, update_conflicts=True, unique_fields=["slug"],
        update_fields=["label", "naf_codes", "default_for_naf", "shareable", "synonyms", "phrases"],
    )
    return len(objs)
