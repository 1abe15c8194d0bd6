import csv
import io
import zipfile
from collections import Counter

import pytest
from django.core.management import call_command
from pyproj import Transformer

from relais.demo.generator import generate
from relais.directory.models import Commune, Establishment
from relais.directory.search import haversine_km
from relais.directory.sirene import HEADER, luhn_ok

EPSG = {"971": 5490, "972": 5490, "973": 2972, "974": 2975, "976": 4471}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    path = tmp_path_factory.mktemp("gen") / "stock.csv"
    generate(path, 4000, seed=7)
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [dict(zip(header, r, strict=True)) for r in reader]
    return path, header, rows


def test_same_seed_same_bytes_other_seed_other_file(tmp_path, sample):
    path, _header, _rows = sample
    again = tmp_path / "again.csv"
    generate(again, 4000, seed=7)
    assert again.read_bytes() == path.read_bytes()
    other = tmp_path / "other.csv"
    generate(other, 4000, seed=8)
    assert other.read_bytes() != path.read_bytes()


def test_format_is_insee_s(sample):
    _path, header, rows = sample
    assert tuple(header) == HEADER
    sirets = [r["siret"] for r in rows]
    assert len(set(sirets)) == len(sirets) == 4000
    assert all(len(s) == 14 and s.isdigit() and luhn_ok(s) for s in sirets)
    assert all(r["siren"] + r["nic"] == r["siret"] for r in rows)
    assert {r["etatAdministratifEtablissement"] for r in rows} == {"A", "F"}
    assert {r["statutDiffusionEtablissement"] for r in rows} == {"O", "P"}
    assert {r["nomenclatureActivitePrincipaleEtablissement"] for r in rows} >= {"NAFRev2",
                                                                               "NAFRev1"}
    assert all(len(r["dateCreationEtablissement"]) == 10 for r in rows)
    assert all(len(r["dateDernierTraitementEtablissement"]) == 19 for r in rows)
    partial = [r for r in rows if r["statutDiffusionEtablissement"] == "P"]
    assert all(r["libelleVoieEtablissement"] == "[ND]"
               and r["coordonneeLambertAbscisseEtablissement"] == "[ND]" for r in partial)
    missing = [r for r in rows if r["statutDiffusionEtablissement"] == "O"
               and r["coordonneeLambertAbscisseEtablissement"] == ""]
    assert 0 < len(missing) < 0.1 * len(rows)
    assert any("," in r["enseigne1Etablissement"] for r in rows)  # quoting exercised


@pytest.mark.django_db
def test_trades_are_well_represented_and_communes_population_weighted(sample):
    _path, _header, rows = sample
    naf = Counter(r["activitePrincipaleEtablissement"] for r in rows)
    for code in ("43.22A", "43.21A", "43.99C", "96.02A"):
        assert naf[code] >= 10, code
    communes = Counter(r["codeCommuneEtablissement"] for r in rows)
    paris = sum(n for c, n in communes.items() if c.startswith("751"))
    assert 0.015 * len(rows) < paris < 0.06 * len(rows)  # ~3 % of the population


@pytest.mark.django_db
def test_coordinates_use_each_territory_projection(sample):
    _path, _header, rows = sample
    communes = {c.code_insee: c for c in Commune.objects.all()}
    checked = Counter()
    transformers = {}
    for r in rows:
        x = r["coordonneeLambertAbscisseEtablissement"]
        if not x or x == "[ND]":
            continue
        commune = communes[r["codeCommuneEtablissement"]]
        epsg = EPSG.get(commune.departement, 2154)
        if epsg not in transformers:
            transformers[epsg] = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326",
                                                      always_xy=True)
        lon, lat = transformers[epsg].transform(
            float(x), float(r["coordonneeLambertOrdonneeEtablissement"]))
        assert haversine_km(lat, lon, commune.latitude, commune.longitude) < 10
        checked[epsg] += 1
    assert checked[2154] > 1000 and sum(checked.values()) - checked[2154] > 10


@pytest.mark.django_db
def test_command_writes_a_zip_the_importer_reads(tmp_path):
    out = tmp_path / "stock.zip"
    call_command("generate_sirene", "--rows", "500", "--seed", "3", "--out", str(out),
                 "--departements", "94", "--no-progress", stdout=io.StringIO())
    with zipfile.ZipFile(out) as z:
        assert z.namelist() == ["StockEtablissement_utf8.csv"]
    text = io.StringIO()
    call_command("import_sirene", str(out), "--no-progress", stdout=text)
    created = Establishment.objects.count()
    assert 400 < created < 500
    assert set(Establishment.objects.values_list("commune__departement", flat=True)) == {"94"}


def test_sirens_keep_their_nine_digits_up_to_national_sizes(tmp_path):
    """Past ≈ 4M rows the SIREN sequence used to overflow 8 digits (+ the Luhn digit), and
    the importer rejected those rows: large files now take smaller steps between SIRENs."""
    from relais.demo.generator import MAX_ROWS, SIREN_START, generate, max_siren_gap

    assert max_siren_gap(1_000_000) == 40  # what small files always used: same output
    for rows in (1_000, 1_000_000, 4_000_000, 10_000_000, 40_000_000, MAX_ROWS):
        gap = max_siren_gap(rows)
        # 88 % of the rows start a new SIREN, by a step drawn in [1, gap): mean gap / 2
        assert SIREN_START + rows * 0.88 * gap / 2 < 100_000_000, rows
    with pytest.raises(ValueError, match="at most"):
        generate(tmp_path / "too-big.csv", MAX_ROWS + 1)
