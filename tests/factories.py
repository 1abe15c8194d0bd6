"""The test suite's data: constants and small builders of what the tests work on.

Every builder is a plain function that creates rows and returns them (nothing is
hidden: read the function to see what a test starts from). Use the module as ``f``::

    from tests import factories as f
    from tests.factories import CALLER, NANTES, offset

    called = f.listing(*NANTES, ["plombier"], email="appele@example.fr")
    f.listing(*offset(*NANTES, 5), ["plombier"])
    vm = f.voicemail(called)
    own, shared = f.route(vm)  # the called plumber's delivery, the neighbours' by rank

What lives here:

- places: ``NANTES``, ``PARIS``, ``CRETEIL``, ``offset`` (a point so many km away),
  ``lambert`` (a point in Lambert-93, as SIRENE writes it);
- phone numbers: ``CALLER``/``CALLER_FR`` (who left the routed messages),
  ``TRACKING`` (a tracking number), ``FORWARD`` (where it rings), ``PHONE_CALLER`` (who
  dials it in the telephony tests), ``SPOKEN_CALLER`` (who dials it in the spoken,
  end-to-end calls);
- texts: ``TRANSCRIPT``/``REDACTED`` (the routed message), ``REQUEST`` (a plumbing
  request to speak);
- accounts: ``professional``, ``superuser``, ``staff``;
- the directory: ``establishment``, and SIRENE files (``row``, ``csv_text``,
  ``write_stock``, ``run_import``);
- listings: ``listing`` (placed, with métiers, for routing) and ``make_listing`` (with a
  forward number, no place, for the telephony tests);
- messages: ``tone_wav`` (a WAV in memory), ``voicemail`` (a processed message with its
  recordings), ``route`` (routes one and returns its deliveries).

Fixtures (``smtp``, ``operator``, ``stock``, ``browser``…) are in ``tests/conftest.py``;
processes, task queues, storage, local servers and browsers in ``tests/helpers.py``;
spoken clips (espeak-ng, PyAV) in ``tests/clips.py``.
"""

import csv
import functools
import io
import itertools
import math
import struct
import wave
import zipfile
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone
from pyproj import Transformer

from relais.directory.models import Establishment, Metier
from relais.directory.sirene import HEADER
from relais.pros.models import Listing, Professional
from relais.routing import services as routing
from relais.routing.models import Delivery
from relais.voicemail.models import Voicemail

_seq = itertools.count(1)

# --- Places ------------------------------------------------------------------------------

# Around Nantes (47.218, -1.553): handy reference points.
NANTES = (47.2184, -1.5536)
PARIS = (48.8566, 2.3522)
# Créteil's town hall, a point the tests project to Lambert-93 themselves.
CRETEIL = (48.77779, 2.45316)

_lambert93 = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)


def offset(lat: float, lon: float, north_km: float = 0.0, east_km: float = 0.0):
    """A point ``north_km`` north and ``east_km`` east of (lat, lon) (small distances)."""
    dlat = north_km / 111.195
    dlon = east_km / (111.195 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def lambert(lat: float, lon: float, epsg: int = 2154) -> tuple[str, str]:
    """(x, y) of a point in Lambert-93 (or another EPSG projection), as SIRENE writes them."""
    t = _lambert93 if epsg == 2154 else Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}",
                                                             always_xy=True)
    x, y = t.transform(lon, lat)
    return f"{x:.1f}", f"{y:.1f}"


# --- Phone numbers and texts -------------------------------------------------------------

CALLER = "+33612345678"  # the caller of ``voicemail()``'s messages
CALLER_FR = "06 12 34 56 78"
TRACKING = "+33199000001"  # a tracking number
FORWARD = "+33639989999"  # where ``make_listing()``'s calls are forwarded
PHONE_CALLER = "+33639980001"  # who calls TRACKING in the telephony tests
SPOKEN_CALLER = "+33639980042"  # who calls TRACKING in the spoken end-to-end calls

TRANSCRIPT = ("Bonjour, j'ai une fuite d'eau sous l'évier, pouvez-vous passer aujourd'hui ? "
              "Je suis Nadia Bensaïd, rappelez-moi au 06 12 34 56 78. Merci.")
REDACTED = ("Bonjour, j'ai une fuite d'eau sous l'évier, pouvez-vous passer aujourd'hui ? "
            "Je suis [nom], rappelez-moi au [numéro]. Merci.")
# A request for a plumber, to be spoken (``tests.clips.speak``) and understood.
REQUEST = "Bonjour, je cherche un plombier pour une fuite d'eau. Merci de me rappeler."


# --- Accounts ----------------------------------------------------------------------------


def professional(email: str | None = None, *, username: str | None = None) -> Professional:
    """A professional with a verified e-mail address; password ``motdepasse-solide-42``.
    ``username=email`` makes one who logs in with their address (as the login form does)."""
    n = next(_seq)
    user = get_user_model().objects.create_user(
        username=username or f"pro{n}", email=email if email is not None else f"pro{n}@example.fr",
        password="motdepasse-solide-42",
    )
    return Professional.objects.create(user=user, email_verified_at=timezone.now())


def superuser(username: str = "ops", password: str = "motdepasse-42"):  # noqa: S107
    """An operator with every permission (``username@example.fr``)."""
    return get_user_model().objects.create_superuser(username, f"{username}@example.fr",
                                                     password)


def staff(username: str, permissions: list[str],
          password: str = "x-motdepasse-42"):  # noqa: S107
    """An operator (staff) with only the permissions named by their codename."""
    user = get_user_model().objects.create_user(username, password=password, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=permissions))
    return user


# --- The directory and SIRENE files ------------------------------------------------------


NAF_4322A = "Travaux d'installation d'eau et de gaz en tous locaux"


def establishment(lat, lon, *, name=None, active=True, named=True, commune=None,
                  address="") -> Establishment:
    """An establishment with a trade name (``name``); ``named=False``: one whose name
    INSEE does not disseminate (its ``name`` is the NAF label, no ``search_name``)."""
    n = next(_seq)
    siret = f"{n:014d}"
    name = name or f"Entreprise {n}"
    return Establishment.objects.create(
        siret=siret, siren=siret[:9], name=name if named else NAF_4322A, latitude=lat,
        longitude=lon, active=active, naf_code="43.22A",
        search_name=name.lower() if named else "", commune_id=commune,
        address=address,
    )


def row(siret: str = "30000000000011", **values) -> dict:
    """A StockEtablissement row in INSEE's exact format: an active, diffusible plumber in
    Créteil; override any column by name."""
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
    """A StockEtablissement CSV of ``rows`` (missing columns empty)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow([r.get(h, "") for h in header])
    return out.getvalue()


def late_encoding_error(path: Path) -> Path:
    """A file of 200 good rows whose last line is Latin-1, not UTF-8: read in chunks of
    4,000 bytes, the error comes after rows were already loaded."""
    rows = [row(f"3{i:012d}1", enseigne1Etablissement=f"NOUVEAU {i}") for i in range(200)]
    bad = csv_text([row("39999999999991", enseigne1Etablissement="CAFÉ")]).splitlines()[1]
    path.write_bytes(csv_text(rows).encode("utf-8") + bad.encode("latin-1") + b"\n")
    return path


def write_stock(path: Path, rows: list[dict], header=HEADER) -> Path:
    """Write ``rows`` to ``path``: a CSV, or INSEE's zip of one when it ends in ``.zip``."""
    text = csv_text(rows, header)
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("StockEtablissement_utf8.csv", text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def run_import(path: Path) -> str:
    """``relais import_sirene PATH`` in this process; returns what it printed."""
    out = io.StringIO()
    call_command("import_sirene", str(path), "--no-progress", stdout=out)
    return out.getvalue()


# --- Listings ----------------------------------------------------------------------------


def listing(lat, lon, metiers=("plombier",), *, status=Listing.Status.APPROVED, radius=30,
            email=None, notify=Listing.Notify.INSTANT, paused=False, active=True, pro=None,
            name=None, commune=None) -> Listing:
    """A listing at (lat, lon) doing ``metiers``, of a new professional unless ``pro``."""
    pro = pro or professional()
    item = Listing.objects.create(
        establishment=establishment(lat, lon, name=name, active=active, commune=commune),
        professional=pro,
        status=status, service_radius_km=radius, notification_email=email or "",
        notify=notify, shared_paused=paused,
        approved_at=timezone.now() if status == Listing.Status.APPROVED else None,
    )
    item.metiers.set(Metier.objects.filter(slug__in=metiers))
    return item


def make_listing(siret="12345678900011", name="Plomberie Martin", status="approved",
                 forward=FORWARD, email="pro@example.org") -> Listing:
    """A listing as the telephony tests need it: calls forwarded to ``forward``, no place
    and no métier; its professional's username is ``email`` (password ``x-Pa55-word``)."""
    est = Establishment.objects.create(siret=siret, siren=siret[:9], name=name,
                                     search_name=name.lower())  # a SIRENE trade name
    user = get_user_model().objects.create_user(username=email, email=email, password="x-Pa55-word")
    pro = Professional.objects.create(user=user)
    return Listing.objects.create(establishment=est, professional=pro, status=status,
                                  forward_number=forward)


# --- Messages ----------------------------------------------------------------------------


@functools.cache
def tone_wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    """A mono 16-bit WAV of a 440 Hz tone (what a telephony provider's recording is)."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
            for i in range(int(seconds * rate))
        )
        w.writeframes(frames)
    return buf.getvalue()


def voicemail(called: Listing | None, *, consent="share", final=True, shareable=True,
              confidence=0.95, metier="plombier", caller=CALLER, urgency="urgent",
              intent="quote_request", audio=True) -> Voicemail:
    """A message to ``called`` as the pipeline leaves it before routing: transcribed
    (``TRANSCRIPT``), understood, redacted (``REDACTED``), with a 1 s recording and a
    0.5 s extract (``audio=False``: none)."""
    vm = Voicemail.objects.create(
        listing=called, caller_e164=caller, consent=consent,
        consent_recorded_at=timezone.now() if final else None,
        status=Voicemail.Status.PROCESSING, transcript=TRANSCRIPT, redacted_text=REDACTED,
        intent=intent, shareable=shareable, confidence=confidence,
        metier=Metier.objects.get(slug=metier) if metier else None, urgency=urgency,
        language="fr",
    )
    if audio:
        vm.audio.save("message.wav", ContentFile(tone_wav(1.0)), save=False)
        vm.extract.save("extract.wav", ContentFile(tone_wav(0.5)), save=False)
        vm.save(update_fields=["audio", "extract"])
    return vm


def route(vm: Voicemail) -> tuple[Delivery, list[Delivery]]:
    """Route ``vm`` (``route_voicemail``): its own delivery, and its shared ones by rank."""
    routing.route_voicemail(vm)
    own = Delivery.objects.get(voicemail=vm, kind="own")
    shared = list(Delivery.objects.filter(voicemail=vm, kind="shared").order_by("rank")
                  .select_related("listing__professional__user", "listing__establishment"))
    return own, shared
