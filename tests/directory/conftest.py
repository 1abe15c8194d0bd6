"""Helpers to write small StockEtablissement files in INSEE's exact format."""

import csv
import io
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from pyproj import Transformer

from relais.directory.sirene import HEADER

# Créteil's town hall, a point the tests project to Lambert-93 themselves.
CRETEIL = (48.77779, 2.45316)
_lambert93 = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)


def lambert(lat: float, lon: float, epsg: int = 2154) -> tuple[str, str]:
    t = _lambert93 if epsg == 2154 else Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}",
                                                             always_xy=True)
    x, y = t.transform(lon, lat)
    return f"{x:.1f}", f"{y:.1f}"


def row(siret: str = "30000000000011", **values) -> dict:
    """An active, diffusible plumber in Créteil; override any column by name."""
    x, y = lambert(*CRETEIL)
    data = dict.fromkeys(HEADER, "")
    data.update({
        "siren": siret[:9], "nic": siret[9:], "siret": siret,
        "statutDiffusionEtablissement": "O", "dateCreationEtablissement": "2015-03-02",
        "dateDernierTraitementEtablissement": "2024-05-17T10:21:03",
        "etablissementSiege": "true", "nombrePeriodesEtablissement": "1",
        "numeroVoieEtablissement": "12", "typeVoieEtablissement": "AV",
        "libelleVoieEtablissement": "DU GENERAL DE GAULLE", "codePostalEtablissement": "94000",
        "libelleCommuneEtablissement": "CRETEIL", "codeCommuneEtablissement": "94028",
        "coordonneeLambertAbscisseEtablissement": x, "coordonneeLambertOrdonneeEtablissement": y,
        "dateDebut": "2015-03-02", "etatAdministratifEtablissement": "A",
        "enseigne1Etablissement": "PLOMBERIE DUPONT",
        "activitePrincipaleEtablissement": "43.22A",
        "nomenclatureActivitePrincipaleEtablissement": "NAFRev2",
        "caractereEmployeurEtablissement": "N",
    })
    for key, value in values.items():
        data[key] = value
    return data


def csv_text(rows: list[dict], header=HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow([r.get(h, "") for h in header])
    return out.getvalue()


def write_stock(path: Path, rows: list[dict], header=HEADER) -> Path:
    text = csv_text(rows, header)
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("StockEtablissement_utf8.csv", text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def run_import(path: Path) -> str:
    out = io.StringIO()
    call_command("import_sirene", str(path), "--no-progress", stdout=out)
    return out.getvalue()


@pytest.fixture
def stock(tmp_path):
    """stock(rows, name="s.csv", header=HEADER) → path of a written file."""
    def make(rows, name="stock.csv", header=HEADER):
        return write_stock(tmp_path / name, rows, header)
    return make
