"""The first load: an empty directory is filled straight from the parsed rows
(importer._FirstLoad), with the same outcome as the stage and merge."""

import pytest
from django.db import IntegrityError, connection

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


def indexes() -> dict:
    """The directory's schema a first load touches: indexes, keys (the listings' foreign
    key to the establishments included) and the establishments' column defaults."""
    with connection.cursor() as cursor:
        out = {}
        for table in ("directory_establishment", "directory_nametoken", "pros_listing"):
            for name, c in connection.introspection.get_constraints(cursor, table).items():
                if table == "pros_listing" and c["foreign_key"] != (
                        "directory_establishment", "siret"):
                    continue
                if c["index"] or c["primary_key"] or c["foreign_key"]:
                    kind = "pk" if c["primary_key"] else name
                    out[f"{table}:{kind}"] = (c["columns"], c["foreign_key"])
        out["defaults"] = [
            (f.name, f.default) for f in connection.introspection.get_table_description(
                cursor, "directory_establishment")]
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


def test_only_a_repeated_key_sends_the_first_load_through_the_merge(stock, monkeypatch):
    """Any other broken constraint (here a name missing, as a bug in the parser would
    leave it) fails the import at once: loading the file a second time through the stage
    and merge would not mend it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from relais.directory import importer

    prepare = importer._FirstLoad.prepare

    def without_names(self, staged, tokens):
        nameless = pc.if_else(pc.equal(staged.column("siret"), "30000000000029"),
                              pa.scalar(None, pa.string()), staged.column("name"))
        staged = staged.set_column(staged.schema.get_field_index("name"), "name", nameless)
        return prepare(self, staged, tokens)

    monkeypatch.setattr(importer._FirstLoad, "prepare", without_names)
    phases = []
    with pytest.raises((IntegrityError, connection.Database.IntegrityError),
                       match=r"(?i)null"):
        import_sirene(stock([row("30000000000011"), row("30000000000029")]),
                      progress=False, on_phase=phases.append)
    assert phases == []  # neither finished nor tried again through the merge
    assert not Establishment.objects.exists() and not NameToken.objects.exists()


def test_every_value_reaches_the_directory_as_the_file_gives_it(stock):
    """Accents, typographic quotes, an emoji and CJK, a row placed at its commune's point:
    read back exactly (PostgreSQL's binary COPY writes them), and the same file imported
    again finds every column unchanged (the refresh compares them all in SQL)."""
    path = stock([
        row("30000000000011", enseigne1Etablissement="CAFÉ L’ÉTÉ ☕ 東京",
            libelleVoieEtablissement="DE L’ÉGLISE"),
        row("30000000000029", coordonneeLambertAbscisseEtablissement="",
            coordonneeLambertOrdonneeEtablissement=""),
    ])
    first, phases = phases_of(path)
    assert phases == ["indexes"] and first.created == 2
    cafe = Establishment.objects.get(siret="30000000000011")
    assert (cafe.name, cafe.search_name, cafe.address) == (
        "CAFÉ L’ÉTÉ ☕ 東京", "cafe l ete ☕ 東京", "12 AVENUE DE L’ÉGLISE")
    assert (cafe.commune_id, cafe.geo_source, cafe.active) == ("94028", "sirene", True)
    placed = Establishment.objects.get(siret="30000000000029")
    assert placed.geo_source == "commune" and placed.latitude and placed.longitude
    assert set(NameToken.objects.values_list("token", "siret")) == {
        ("cafe", "30000000000011"), ("ete", "30000000000011"), ("東京", "30000000000011"),
        ("plomberie", "30000000000029"), ("dupont", "30000000000029")}
    again, phases = phases_of(path)
    assert phases == ["merge"]
    assert (again.unchanged, again.updated, again.created) == (2, 0, 0)


def test_sirets_naf_codes_and_name_words_compare_as_bytes():
    """SIRETs, NAF codes and name words are CodeFields: PostgreSQL's "C" collation (the keys build
    with abbreviated keys, a prefix range is exact), and the listings' key to the
    establishments follows; SQLite keeps its default, which already is BINARY."""
    from relais.directory.models import CodeField
    from relais.pros.models import Listing

    fields = [Establishment._meta.get_field("siret"), Establishment._meta.get_field("naf_code"),
              NameToken._meta.get_field("token"), NameToken._meta.get_field("siret"),
              Listing._meta.get_field("establishment")]
    expected = "C" if connection.vendor == "postgresql" else None
    assert [f.db_parameters(connection)["collation"] for f in fields] == [expected] * 5
    assert CodeField.collate(connection) == (' COLLATE "C"' if expected else "")
    if connection.vendor == "postgresql":  # and so are the columns the migrations made
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname, a.attname, co.collname FROM pg_attribute a "
                "JOIN pg_class c ON c.oid = a.attrelid "
                "JOIN pg_collation co ON co.oid = a.attcollation "
                "WHERE (c.relname, a.attname) IN (('directory_establishment', 'siret'), "
                "('directory_establishment', 'naf_code'), "
                "('directory_nametoken', 'token'), ('directory_nametoken', 'siret'), "
                "('pros_listing', 'establishment_id'))")
            assert {collation for *_, collation in cursor.fetchall()} == {"C"}
            assert cursor.rowcount == 5


def test_names_are_normalised_column_wise_as_search_normalises_them():
    import pyarrow as pa

    from relais.directory.importer import _normalise
    from relais.directory.reference import normalise

    names = ["L'ATELIER -- DU  PAIN", "CAFÉ  DES ARTS", "  ÉTS. MARTIN & FILS ",
             "Boulangerie’s (chez Paul)/bis", "ŒUVRES D'ART", "ﬁne\u00a0cuisine",
             "A.B.C.", "--", "SARL_DUPONT;FILS:PÈRE", "x" * 300]
    assert _normalise(pa.array(names)).to_pylist() == [normalise(n)[:255] for n in names]


def test_rejections_after_a_repeated_siret_are_reported_once(stock):
    rejected = []
    path = stock([
        row("30000000000011"),
        row("30000000000011", enseigne1Etablissement="DERNIER"),  # SQLite stops here
        *[row(f"3{i:012d}1") for i in range(3, 40)],
        row("3000000000004X"),  # rejected after the repeat
        row("30000000000052", etatAdministratifEtablissement="Z"),  # rejected too
    ])
    result = import_sirene(path, progress=False, on_rejection=rejected.append,
                           chunk_bytes=1500)
    assert [r.line for r in rejected] == [41, 42] and result.rejected == 2
    assert Establishment.objects.get(siret="30000000000011").name == "DERNIER"


def test_the_first_load_s_parsing_threads_stop_before_the_fallback_reads_again(stock):
    import threading

    def parsing_threads():
        return [t.name for t in threading.enumerate() if t.name.startswith("sirene-")]

    alive = []
    path = stock([row("30000000000011"), *[row(f"3{i:012d}1") for i in range(3, 60)],
                  row("30000000000011", enseigne1Etablissement="DERNIER")])
    import_sirene(path, progress=False, chunk_bytes=1000,
                  on_phase=lambda phase: alive.append((phase, parsing_threads())))
    assert alive[-1] == ("merge", [])  # the fallback's merge: no thread of either pass
    assert parsing_threads() == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's table locks")
def test_a_first_load_that_cannot_lock_its_tables_stages_and_merges_instead(
        stock, monkeypatch):
    import psycopg

    from relais.directory import importer

    monkeypatch.setattr(importer, "FIRST_LOAD_LOCK_WAIT_MS", 200)
    before = indexes()
    settings = connection.settings_dict
    with psycopg.connect(dbname=settings["NAME"], host=settings["HOST"] or None,
                         port=settings["PORT"] or None, user=settings["USER"],
                         password=settings["PASSWORD"] or None) as reader:
        reader.execute("SELECT COUNT(*) FROM directory_nametoken")  # holds ACCESS SHARE
        phases = []
        result = import_sirene(stock([row("30000000000011"), row("30000000000029")]),
                               progress=False, on_phase=phases.append)
        reader.rollback()
    assert phases == ["merge"] and result.created == 2
    assert indexes() == before
