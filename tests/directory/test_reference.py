import pytest
from django.core.management import call_command

from relais.directory.models import Commune, Metier, NafCode
from relais.directory.reference import default_metiers_by_naf, normalise
from relais.directory.reference_sync import sync_reference_data

pytestmark = pytest.mark.django_db


def test_migrate_alone_loads_every_reference_table():
    assert NafCode.objects.count() == 1728
    assert NafCode.objects.filter(level="sous-classe").count() == 732
    assert Commune.objects.count() == 34916
    assert Metier.objects.count() >= 80


def test_reference_rows_are_right():
    assert NafCode.objects.get(code="43.22A").parent_id == "43.22"
    ajaccio = Commune.objects.get(code_insee="2A004")
    assert ajaccio.name == "Ajaccio" and ajaccio.departement == "2A"
    creteil = Commune.objects.get(code_insee="94028")
    assert "94000" in creteil.postal_codes.split()
    assert 48.7 < creteil.latitude < 48.8 and 2.4 < creteil.longitude < 2.5
    assert Commune.objects.filter(kind="arrondissement-municipal").count() == 45


def test_loading_again_changes_nothing():
    before = Commune.objects.count(), NafCode.objects.count(), Metier.objects.count()
    assert sync_reference_data() == {}  # unchanged files are skipped
    assert sync_reference_data(force=True)["communes"] == 34916
    call_command("migrate", verbosity=0)
    assert (Commune.objects.count(), NafCode.objects.count(), Metier.objects.count()) == before
    # The update path keeps types: JSON lists stay lists, foreign keys stay keys.
    assert Metier.objects.get(slug="plombier").naf_codes == ["43.22A"]
    assert NafCode.objects.get(code="43.22A").parent_id == "43.22"
    Metier.objects.all().delete()
    sync_reference_data(force=True)  # the insert path, too
    assert Metier.objects.get(slug="plombier").naf_codes == ["43.22A"]


def test_metier_taxonomy_is_complete_and_consistent():
    required = {
        "plombier", "serrurier", "chauffagiste", "electricien", "couvreur", "peintre", "macon",
        "menuisier", "carreleur", "paysagiste", "elagueur", "demenageur", "nettoyage",
        "ramoneur", "desinsectisation", "vidange-fosse", "traiteur", "photographe",
        "dj-animation", "fleuriste", "organisateur-brocantes", "agence-evenementielle",
        "creation-sites-web", "depannage-informatique", "expert-comptable", "architecte",
        "diagnostiqueur", "garagiste", "taxi", "cours-particuliers", "aide-domicile",
    }
    slugs = set(Metier.objects.values_list("slug", flat=True))
    assert required <= slugs
    sous_classes = set(NafCode.objects.filter(level="sous-classe").values_list("code", flat=True))
    for metier in Metier.objects.all():
        assert metier.naf_codes, metier.slug
        assert set(metier.naf_codes) <= sous_classes, metier.slug
        assert metier.label and metier.synonyms and metier.phrases, metier.slug


def test_flea_markets_and_event_agencies_are_distinct_trades():
    # The failure this project exists to avoid: one NAF code, several trades.
    defaults = default_metiers_by_naf()
    assert "organisateur-brocantes" not in defaults["82.30Z"]
    assert "agence-evenementielle" in defaults["82.30Z"]
    assert defaults["43.22A"] == ("plombier",)


def test_normalise():
    assert normalise("Saint-Maur-des-Fossés") == "saint maur des fosses"
    assert normalise("L'Haÿ-les-Roses") == "l hay les roses"
