import io
import zipfile

import pytest
from django.core.management import CommandError, call_command

from relais.directory.models import Establishment, NameToken
from relais.directory.search import haversine_km
from relais.directory.sirene import HEADER
from tests.factories import CRETEIL, csv_text, late_encoding_error, row, run_import

pytestmark = pytest.mark.django_db


def summary(output: str) -> dict:
    """'read 3 · created 2 · …' → {'read': 3, 'created': 2, …}"""
    line = [x for x in output.splitlines() if x.startswith("read ")][-1]
    parts = line.split(" (")[0].split(" · ")
    return {p.split()[0]: int(p.split()[1].replace(",", "")) for p in parts}


def test_csv_import_creates_active_establishments_with_their_facts(stock):
    path = stock([
        row("30000000000011"),
        row("30000000000029", enseigne1Etablissement="",
            denominationUsuelleEtablissement='CHEZ "TITI", ET FILS'),
    ])
    counts = summary(run_import(path))
    assert counts == {"read": 2, "created": 2, "updated": 0, "unchanged": 0,
                      "deactivated": 0, "skipped": 0, "rejected": 0}
    e = Establishment.objects.get(siret="30000000000011")
    assert e.name == "PLOMBERIE DUPONT" and e.siren == "300000000"
    assert e.naf_code == "43.22A" and e.naf_nomenclature == "NAFRev2"
    assert e.commune_id == "94028" and e.postal_code == "94000"
    assert e.address == "12 AVENUE DU GENERAL DE GAULLE"
    assert e.geo_source == "sirene" and haversine_km(*CRETEIL, e.latitude, e.longitude) < 0.1
    assert e.active and e.diffusion == "O"
    assert e.sirene_updated_at == "2024-05-17T10:21:03"
    quoted = Establishment.objects.get(siret="30000000000029")
    assert quoted.name == 'CHEZ "TITI", ET FILS'  # quotes and commas preserved
    assert set(NameToken.objects.filter(siret="30000000000011").values_list("token", flat=True)) \
        == {"plomberie", "dupont"}


def test_zip_import_reads_the_csv_inside(stock):
    path = stock([row("30000000000011"), row("30000000000029")], name="StockEtablissement.zip")
    assert zipfile.is_zipfile(path)
    assert summary(run_import(path))["created"] == 2


def test_header_variations_unknown_missing_optional_and_reordered(stock):
    header = list(reversed(HEADER))
    header.remove("enseigne2Etablissement")
    header.remove("coordonneeLambertAbscisseEtablissement")
    header.remove("coordonneeLambertOrdonneeEtablissement")
    header.append("nouvelleColonneInseeEtablissement")
    r = row(nouvelleColonneInseeEtablissement="whatever")
    counts = summary(run_import(stock([r], header=header)))
    assert counts["created"] == 1 and counts["rejected"] == 0
    e = Establishment.objects.get()
    assert e.name == "PLOMBERIE DUPONT"
    assert e.geo_source == "commune"  # no coordinate columns: the commune's point


def test_missing_required_column_is_a_bad_file(stock):
    header = [h for h in HEADER if h != "codeCommuneEtablissement"]
    with pytest.raises(CommandError, match=r"missing column.*codeCommuneEtablissement"):
        run_import(stock([row()], header=header))
    assert not Establishment.objects.exists()


def test_closed_rows_deactivate_and_reopening_reactivates(stock):
    run_import(stock([row("30000000000011"), row("30000000000029")]))
    counts = summary(run_import(stock([
        row("30000000000011", etatAdministratifEtablissement="F"),
        row("30000000000029"),
        row("30000000000037", etatAdministratifEtablissement="F"),  # never known: skipped
    ])))
    assert counts["deactivated"] == 1 and counts["unchanged"] == 1 and counts["skipped"] == 1
    assert not Establishment.objects.get(siret="30000000000011").active
    assert not NameToken.objects.filter(siret="30000000000011").exists()
    assert not Establishment.objects.filter(siret="30000000000037").exists()
    counts = summary(run_import(stock([row("30000000000011")])))
    assert counts["updated"] == 1
    assert Establishment.objects.get(siret="30000000000011").active


def test_last_occurrence_wins_and_second_import_changes_nothing(stock):
    path = stock([
        row("30000000000011", enseigne1Etablissement="FIRST NAME"),
        row("30000000000029"),
        row("30000000000011", enseigne1Etablissement="LAST NAME"),
    ])
    first = summary(run_import(path))
    assert first["created"] == 2 and first["read"] == 3
    assert Establishment.objects.get(siret="30000000000011").name == "LAST NAME"
    assert list(NameToken.objects.filter(siret="30000000000011")
                .values_list("token", flat=True).order_by("token")) == ["last", "name"]
    stamp = Establishment.objects.get(siret="30000000000011").updated_at
    second = summary(run_import(path))
    assert second["created"] == 0 and second["updated"] == 0 and second["unchanged"] == 2
    assert Establishment.objects.get(siret="30000000000011").updated_at == stamp


def test_changed_rows_are_updated(stock):
    run_import(stock([row("30000000000011")]))
    counts = summary(run_import(stock([row("30000000000011", enseigne1Etablissement="NOUVEAU",
                                           activitePrincipaleEtablissement="43.22B")])))
    assert counts["updated"] == 1
    e = Establishment.objects.get()
    assert e.name == "NOUVEAU" and e.naf_code == "43.22B"
    assert list(NameToken.objects.values_list("token", flat=True)) == ["nouveau"]


def test_partially_diffusible_rows_never_store_nd_nor_an_address(stock):
    nd = "[ND]"
    run_import(stock([
        row("30000000000011", statutDiffusionEtablissement="P", numeroVoieEtablissement=nd,
            typeVoieEtablissement=nd, libelleVoieEtablissement=nd,
            complementAdresseEtablissement=nd, enseigne1Etablissement=nd,
            coordonneeLambertAbscisseEtablissement=nd, coordonneeLambertOrdonneeEtablissement=nd,
            identifiantAdresseEtablissement=nd),
        # Masked fields although the status says O: still no address.
        row("30000000000029", libelleVoieEtablissement=nd),
    ]))
    for e in Establishment.objects.all():
        assert e.diffusion == "P" and e.address == "" and not e.shows_address
        values = [str(getattr(e, f.attname)) for f in Establishment._meta.concrete_fields]
        assert not any("[ND]" in v for v in values), values
    p = Establishment.objects.get(siret="30000000000011")
    assert p.geo_source == "commune" and p.name.startswith("Travaux d'installation d'eau")
    assert not NameToken.objects.filter(token__contains="nd").exists()


def test_old_nomenclatures_and_naf_2025_are_kept(stock):
    run_import(stock([
        row("30000000000011", activitePrincipaleEtablissement="45.3F",
            nomenclatureActivitePrincipaleEtablissement="NAFRev1", enseigne1Etablissement=""),
        row("30000000000029", activitePrincipaleEtablissement="5512",
            nomenclatureActivitePrincipaleEtablissement="NAP"),
        row("30000000000037", activitePrincipaleNAF25Etablissement="43.22A"),
    ]))
    old = Establishment.objects.get(siret="30000000000011")
    assert (old.naf_code, old.naf_nomenclature) == ("45.3F", "NAFRev1")
    assert old.name == "Établissement 300 000 000 00011"  # no NAF rév. 2 label to lean on
    assert Establishment.objects.get(siret="30000000000029").naf_nomenclature == "NAP"
    assert Establishment.objects.get(siret="30000000000037").naf25_code == "43.22A"


def test_malformed_rows_are_reported_with_line_numbers_and_skipped(stock, tmp_path):
    good = csv_text([row("30000000000011")])
    lines = good.splitlines()
    bad = [
        lines[1],
        "30000000,1,300000000,O",  # line 3: too few fields
        csv_text([row("3000000000001X")]).splitlines()[1],  # line 4
        csv_text([row("30000000000029", codeCommuneEtablissement="99999")]).splitlines()[1],
        csv_text([row("30000000000037", etatAdministratifEtablissement="Z")]).splitlines()[1],
        # La Poste's SIRETs fail the Luhn check: never a reason to reject.
        csv_text([row("35600000000048")]).splitlines()[1],
        csv_text([row("30000000000045", codeCommuneEtablissement="", codePaysEtrangerEtablissement="99109")]).splitlines()[1],  # noqa: E501
    ]
    path = tmp_path / "stock.csv"
    path.write_text("\n".join([lines[0], *bad]) + "\n", encoding="utf-8")
    report = tmp_path / "report.csv"
    out = io.StringIO()
    call_command("import_sirene", str(path), "--no-progress", "--report", str(report),
                 stdout=out)
    text = out.getvalue()
    assert "line 3: rejected" in text and "too few fields (4 of 54)" in text
    assert "line 4: rejected 3000000000001X: SIRET is not 14 digits" in text
    assert "line 5: rejected 30000000000029: unknown commune '99999'" in text
    assert "line 6: rejected 30000000000037: unknown etatAdministratifEtablissement" in text
    counts = summary(text)
    assert counts["rejected"] == 4 and counts["created"] == 2 and counts["skipped"] == 1
    assert Establishment.objects.filter(siret="35600000000048").exists()
    assert report.read_text().count("\n") == 5  # header + 4 rejections


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b""), "the file is empty"),
    (lambda p: p.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"), "not UTF-8|no 'siret'"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "not UTF-8|no 'siret'"),
    (lambda p: p.write_text("nom,ville\nDupont,Paris\n"), "no 'siret' column"),
    (lambda p: p.write_bytes(csv_text([row("30000000000011"), row(
        "30000000000029", enseigne1Etablissement="CAFÉ")]).encode("latin-1")), "not UTF-8"),
], ids=["empty", "pdf", "png", "other-csv", "latin-1"])
def test_bad_files_change_nothing(tmp_path, stock, make, message):
    run_import(stock([row("30000000000011", enseigne1Etablissement="AVANT")], name="ok.csv"))
    before = list(Establishment.objects.values_list("siret", "name", "updated_at"))
    path = tmp_path / "bad.csv"
    make(path)
    with pytest.raises(CommandError, match=message):
        run_import(path)
    assert list(Establishment.objects.values_list("siret", "name", "updated_at")) == before


def test_truncated_zip_changes_nothing(tmp_path, stock):
    run_import(stock([row("30000000000011")], name="ok.csv"))
    full = stock([row(f"3000000{i:06d}1", enseigne1Etablissement=f"NOM {i}")
                  for i in range(300)], name="full.zip")
    data = full.read_bytes()
    for cut in (len(data) // 2, len(data) - 30):
        truncated = tmp_path / f"truncated{cut}.zip"
        truncated.write_bytes(data[:cut])
        with pytest.raises(CommandError, match="zip"):
            run_import(truncated)
    assert Establishment.objects.count() == 1


def test_a_zip_without_csv_is_refused(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(CommandError, match="expected one StockEtablissement CSV"):
        run_import(path)


def test_many_chunks_keep_exact_line_numbers_and_the_last_occurrence(tmp_path):
    from relais.directory.importer import import_sirene

    rows = [row(f"3{i:012d}1", enseigne1Etablissement=f"NOM {i}") for i in range(120)]
    rows[70] = row("3000000000000X", enseigne1Etablissement="BAD")  # line 72
    rows.append(row("30000000000051", enseigne1Etablissement="DERNIER"))  # line 122
    lines = csv_text(rows).splitlines()
    lines.insert(40, "1,2,3")  # line 41: too few fields; later rows move down one line
    path = tmp_path / "stock.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = import_sirene(path, progress=False, chunk_bytes=3000)  # many chunks
    assert [(r.line, r.reason.split(" (")[0]) for r in result.rejections] == [
        (41, "too few fields"), (73, "SIRET is not 14 digits")]
    assert result.read == 122 and result.created == 119
    assert Establishment.objects.get(siret="30000000000051").name == "DERNIER"


def test_an_encoding_error_in_a_late_chunk_changes_nothing(tmp_path, stock):
    from relais.directory.importer import SireneFileError, import_sirene

    run_import(stock([row("30000000000011", enseigne1Etablissement="AVANT")], name="ok.csv"))
    path = late_encoding_error(tmp_path / "late.csv")
    with pytest.raises(SireneFileError, match="not UTF-8"):
        import_sirene(path, progress=False, chunk_bytes=4000)
    assert list(Establishment.objects.values_list("siret", "name")) == [
        ("30000000000011", "AVANT")]
