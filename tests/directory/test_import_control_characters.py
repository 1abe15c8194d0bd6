"""SIRENE text with control characters (a name split by CR/LF, a TAB, U+2028…) is stored
on one line, and the emails about its listing go out (a line break in a subject made
every one of them fail with BadHeaderError)."""

import unicodedata

import pytest
from django.core import mail
from django.utils import timezone

from relais.directory import importer
from relais.directory.models import Establishment, NameToken
from relais.pros.models import Listing
from relais.routing import notifications
from relais.routing import services as routing
from relais.routing.models import Delivery
from tests import factories as f
from tests.factories import row, run_import

pytestmark = pytest.mark.django_db

TEXT_FIELDS = ("siret", "siren", "name", "search_name", "naf_code", "naf_nomenclature",
               "naf25_code", "commune_id", "postal_code", "address", "diffusion",
               "geo_source", "sirene_updated_at")


def unclean(value: str) -> list[str]:
    """Why a stored value is not one clean line (nothing when it is)."""
    bad = [f"U+{ord(ch):04X}" for ch in value
           if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")]
    if value != value.strip():
        bad.append("untrimmed")
    return bad


def assert_all_clean():
    for values in Establishment.objects.values(*TEXT_FIELDS):
        dirty = {k: unclean(v or "") for k, v in values.items() if unclean(v or "")}
        assert not dirty, (values["siret"], dirty)
    for token in NameToken.objects.values_list("token", flat=True):
        assert not unclean(token) and " " not in token, repr(token)


@pytest.fixture
def slow_path_calls(monkeypatch):
    """How many chunks went through the csv module instead of Arrow's reader."""
    calls = []
    original = importer.ArrowParser._read_slowly

    def spy(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(importer.ArrowParser, "_read_slowly", spy)
    return calls


def test_line_breaks_in_quoted_fields_become_single_spaces(stock, slow_path_calls):
    path = stock([
        row("30000000000011", enseigne1Etablissement="PLOMBERIE\r\nDUPONT \r\n",
            libelleVoieEtablissement="DU GENERAL\r\n DE GAULLE",
            complementAdresseEtablissement="BATIMENT A\n",
            codePostalEtablissement="94000\r\n",
            dateDernierTraitementEtablissement="2024-05-17T10:21:03\r\n"),
        # A name that is nothing but a line break: the next name field is used.
        row("30000000000029", enseigne1Etablissement="\r\n",
            denominationUsuelleEtablissement="CHEZ\rTITI\n\nET FILS"),
    ])
    assert "rejected 0" in run_import(path)
    assert slow_path_calls  # quoted line breaks: read by the csv module
    dupont = Establishment.objects.get(siret="30000000000011")
    assert dupont.name == "PLOMBERIE DUPONT"
    assert dupont.address == "BATIMENT A, 12 AVENUE DU GENERAL DE GAULLE"
    assert dupont.postal_code == "94000"
    assert dupont.sirene_updated_at == "2024-05-17T10:21:03"
    assert Establishment.objects.get(siret="30000000000029").name == "CHEZ TITI ET FILS"
    assert set(NameToken.objects.filter(siret="30000000000011")
               .values_list("token", flat=True)) == {"plomberie", "dupont"}
    assert_all_clean()


def test_other_control_and_invisible_characters_go_too(stock, slow_path_calls):
    path = stock([
        row("30000000000011",
            enseigne1Etablissement="\tPLOMBERIE\u2028MARTIN\x85ET\u2029FILS\u200b\u202e",
            libelleVoieEtablissement="DES\x0bLILAS\x1f", numeroVoieEtablissement="3\t",
            activitePrincipaleEtablissement="43.22A\t"),
    ])
    assert "rejected 0" in run_import(path)
    assert not slow_path_calls  # no line break: Arrow's reader
    e = Establishment.objects.get()
    assert e.name == "PLOMBERIE MARTIN ET FILS"
    assert e.address == "3 AVENUE DES LILAS"
    assert e.naf_code == "43.22A"
    assert_all_clean()


def test_the_importer_and_core_text_agree():
    import pyarrow as pa

    from relais.core.text import single_line

    samples = ["A\r\nB", "  X\u2028Y ", "Z\x85W", "so\u00adft", "t\tab", "ok  two",
               "a \r\n\t b", "nul\x00x", "\x7fdel", "rl\u202eo", "\u00a0nbsp\u00a0", ""]
    table = importer.single_line(pa.table({"v": pa.array(samples, pa.string())}))
    assert table.column("v").to_pylist() == [single_line(s) for s in samples]


def _listing(establishment) -> Listing:
    listing = Listing.objects.create(
        establishment=establishment, professional=f.professional(),
        status=Listing.Status.APPROVED, approved_at=timezone.now(),
        notification_email="plombier@example.fr")
    return listing


def _email_for_a_message(listing) -> str:
    vm = f.voicemail(listing, consent="private")
    routing.route_voicemail(vm)
    own = Delivery.objects.get(voicemail=vm, kind="own")
    mail.outbox.clear()
    assert notifications.send_delivery(own.pk) == "sent"
    own.refresh_from_db()
    assert own.status == "sent"
    (message,) = mail.outbox
    message.message()  # the whole message renders: headers are single lines
    return message.subject


def test_emails_about_the_listing_go_out(stock):
    run_import(stock([row("30000000000011", enseigne1Etablissement="PLOMBERIE\r\nDUPONT")]))
    listing = _listing(Establishment.objects.get())
    subject = _email_for_a_message(listing)
    assert subject.startswith("[Relais] Nouveau message pour PLOMBERIE DUPONT")

    # A name stored before the importer cleaned names: the subject is made one line.
    Establishment.objects.update(name="PLOMBERIE\r\nANCIENNE\u2028")
    listing.refresh_from_db()
    subject = _email_for_a_message(listing)
    assert subject.startswith("[Relais] Nouveau message pour PLOMBERIE ANCIENNE ·")
