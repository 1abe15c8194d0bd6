"""The first load: an empty directory is filled straight from the parsed rows
(importer._FirstLoad), with the same outcome as the stage and merge."""

import pytest
from django.db import connection

from relais.demo.generator import generate
from relais.directory.importer import COMPARED, SireneFileError, import_sirene
from relais.directory.models import Establishment, NameToken
from tests.factories import late_encoding_error, row

pytestmark = pytest.mark.django_db

SENTINEL = "39999999999991"


def directory() -> tuple[dict, set]:
    rows = {e[0]: e[1:] for e in Establishment.objects.exclude(siret=SENTINEL)
            .values_list("siret", *COMPARED, "active")}
    tokens = set(NameToken.objects.exclude(siret=SENTINEL)
                 .values_list("token", "latitude", "longitude", "siret"))
    return rows, tokens


def indexes() -> dict[str, list[str]]:
    """Index name → columns, on the establishments and the name index."""
    with connection.cursor() as cursor:
        out = {}
        for table in ("directory_establishment", "directory_nametoken"):
            for name, c in connection.introspection.get_constraints(cursor, table).items():
                if c["index"] or c["primary_key"]:
                    out[f"{table}:{'pk' if c['primary_key'] else name}"] = c["columns"]
    return out


def phases_of(path, **kwargs):
    phases = []
    result = import_sirene(path, progress=False, on_phase=phases.append, **kwargs)
    return result, phases


def test_a_first_load_gives_what_stage_and_merge_give(tmp_path, stock):
    path = tmp_path / "stock.csv"
    generate(path, 3000, seed=3)  # closed, partial, foreign, without coordinates, old NAF
    before = indexes()
    first, phases = phases_of(path)
    assert phases == ["indexes"]  # straight to the directory
    assert first.created > 2000 and first.skipped > 0
    assert first.created == Establishment.objects.count()
    assert indexes() == before  # dropped for the load, built again
    loaded = directory()

    Establishment.objects.all().delete()
    NameToken.objects.all().delete()
    if connection.vendor == "postgresql":  # the test's transaction: fire the deletes'
        with connection.cursor() as cursor:  # deferred checks before indexes are built
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    import_sirene(stock([row(SENTINEL)], name="one.csv"), progress=False)
    merged, phases = phases_of(path)
    assert phases == ["merge"]  # the directory was not empty: stage and merge
    assert (merged.created, merged.skipped) == (first.created, first.skipped)
    assert directory() == loaded
    assert len(loaded[1]) > 1000


def test_a_bad_file_halfway_through_a_first_load_leaves_the_directory_empty(tmp_path):
    before = indexes()
    path = late_encoding_error(tmp_path / "late.csv")
    with pytest.raises(SireneFileError, match="not UTF-8"):
        import_sirene(path, progress=False, chunk_bytes=4000)  # rows were loaded before
    assert not Establishment.objects.exists() and not NameToken.objects.exists()
    assert indexes() == before  # the indexes dropped for the load are back


@pytest.mark.parametrize("later_state", ["A", "F"])
def test_a_siret_named_twice_sends_the_first_load_through_the_merge(stock, later_state):
    rejected = []
    path = stock([
        row("30000000000011", enseigne1Etablissement="PREMIER"),
        row("3000000000001X"),  # rejected: reported once, not once per attempt
        row("30000000000029"),
        row("30000000000011", enseigne1Etablissement="DERNIER",
            etatAdministratifEtablissement=later_state),
    ])
    phases = []
    result = import_sirene(path, progress=False, on_rejection=rejected.append,
                           on_phase=phases.append, chunk_bytes=200)
    # Tried, rolled back, then staged and merged. SQLite's key refuses a second active
    # row as it comes; PostgreSQL's key is built at the end, a closed one is found there.
    caught_while_loading = later_state == "A" and connection.vendor == "sqlite"
    assert phases == (["merge"] if caught_while_loading else ["indexes", "merge"])
    assert [r.line for r in rejected] == [3] and result.rejected == 1
    if later_state == "A":  # the last occurrence wins
        assert (result.created, result.skipped) == (2, 0)
        assert Establishment.objects.get(siret="30000000000011").name == "DERNIER"
        assert set(NameToken.objects.filter(siret="30000000000011")
                   .values_list("token", flat=True)) == {"dernier"}
    else:  # closed last: never created
        assert (result.created, result.skipped) == (1, 1)
        assert list(Establishment.objects.values_list("siret", flat=True)) == [
            "30000000000029"]
        assert not NameToken.objects.filter(siret="30000000000011").exists()


def test_names_are_normalised_column_wise_as_search_normalises_them():
    import pyarrow as pa

    from relais.directory.importer import _normalise
    from relais.directory.reference import normalise

    names = ["L'ATELIER -- DU  PAIN", "CAFÉ  DES ARTS", "  ÉTS. MARTIN & FILS ",
             "Boulangerie’s (chez Paul)/bis", "ŒUVRES D'ART", "ﬁne\u00a0cuisine",
             "A.B.C.", "--", "SARL_DUPONT;FILS:PÈRE", "x" * 300]
    assert _normalise(pa.array(names)).to_pylist() == [normalise(n)[:255] for n in names]
