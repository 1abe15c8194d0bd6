"""Reference data shipped with Relais (data/): NAF rév. 2, communes, métiers.

The files and what is read from them, without the database: voicemail's understanding
and the classification benchmark use this module without Django being set up. Loading
them into the database is relais.directory.reference_sync's job.
"""

import csv
import tomllib
import unicodedata
from functools import cache
from pathlib import Path

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
