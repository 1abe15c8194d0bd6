"""The demo: a generated Île-de-France directory and claimed professional accounts.

``seed()`` is idempotent and returns the demo listings, so later steps (tracking
numbers, messages…) can build on them. Accounts use @example.org addresses and the
password DEMO_PASSWORD (see README, "Demo").
"""

import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from relais.core.models import ReferenceVersion
from relais.directory.importer import import_sirene
from relais.directory.models import Commune, Establishment, Metier
from relais.directory.search import haversine_km
from relais.pros import services
from relais.pros.models import Listing, Professional

from .generator import generate

DEMO_PASSWORD = "relais-demo"  # noqa: S105 (documented demo accounts, README)
DEMO_SEED = 2025
DEMO_ROWS = 30_000
ILE_DE_FRANCE = ("75", "77", "78", "91", "92", "93", "94", "95")
GENERATOR_VERSION = "1"
MARKER = "demo-directory"

CRETEIL = "94028"
PARIS = "75056"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    naf_code: str
    near: str  # commune code
    extra_metiers: tuple[str, ...] = ()
    radius_km: int = 25


ACCOUNTS = (
    DemoAccount("plombier.creteil1@example.org", "43.22A", CRETEIL),
    DemoAccount("plombier.creteil2@example.org", "43.22A", CRETEIL),
    DemoAccount("plombier.creteil3@example.org", "43.22A", CRETEIL, ("debouchage",)),
    DemoAccount("plombier.paris1@example.org", "43.22A", PARIS),
    DemoAccount("plombier.paris2@example.org", "43.22A", PARIS),
    DemoAccount("plombier.paris3@example.org", "43.22A", PARIS, ("debouchage",)),
    DemoAccount("electricien.creteil1@example.org", "43.21A", CRETEIL),
    DemoAccount("electricien.creteil2@example.org", "43.21A", CRETEIL, ("alarme",)),
    DemoAccount("electricien.creteil3@example.org", "43.21A", CRETEIL),
    DemoAccount("electricien.paris1@example.org", "43.21A", PARIS),
    DemoAccount("electricien.paris2@example.org", "43.21A", PARIS, ("antenniste",)),
    DemoAccount("electricien.paris3@example.org", "43.21A", PARIS),
    DemoAccount("serrurier.paris@example.org", "43.32B", PARIS),
    DemoAccount("chauffagiste.creteil@example.org", "43.22B", CRETEIL, ("climatisation",)),
    DemoAccount("traiteur.paris@example.org", "56.21Z", PARIS),
    DemoAccount("photographe.paris@example.org", "74.20Z", PARIS),
    DemoAccount("brocantes.creteil@example.org", "82.30Z", CRETEIL, ("organisateur-brocantes",),
                radius_km=40),
)


def forward_number(index: int) -> str:
    """Fictitious numbers from ARCEP's range for fiction (02 61 91 xx xx).

    Tracking numbers use another fiction block (01 99 00 xx xx, relais.demo.numbers):
    a forward number must never be a tracking number.
    """
    return f"+3326191{index + 1:04d}"


def seed(*, rows: int = DEMO_ROWS, seed: int = DEMO_SEED, progress: bool | None = False,
         log=None) -> list:
    """Load the demo directory (once) and the demo accounts; returns their listings."""
    log = log or (lambda message: None)
    digest = f"{GENERATOR_VERSION}:{rows}:{seed}"
    marker = ReferenceVersion.objects.filter(name=MARKER).first()
    if marker is None or marker.digest != digest or not Establishment.objects.exists():
        with tempfile.TemporaryDirectory(prefix="relais-demo-") as tmp:
            path = Path(tmp) / "StockEtablissement_demo.csv"
            generate(path, rows, seed, departements=ILE_DE_FRANCE, progress=progress)
            result = import_sirene(path, progress=progress)
        ReferenceVersion.objects.update_or_create(name=MARKER, defaults={"digest": digest})
        log(f"demo directory: {result.summary()}")
    else:
        log("demo directory: already loaded")
    listings = [_account(i, spec) for i, spec in enumerate(ACCOUNTS)]
    log(f"demo accounts: {len(listings)} claimed listings (password {DEMO_PASSWORD!r})")
    return listings


@transaction.atomic
def _account(index: int, spec: DemoAccount):
    User = get_user_model()
    user = User.objects.filter(username=spec.email).first()
    if user is None:
        user = User.objects.create_user(username=spec.email, email=spec.email,
                                         password=DEMO_PASSWORD)
    professional, _created = Professional.objects.get_or_create(
        user=user, defaults={"email_verified_at": timezone.now()}
    )
    listing = professional.listings.select_related("establishment").first()
    if listing is not None:
        return listing
    commune = Commune.objects.get(code_insee=spec.near)
    establishment = _nearest_free(spec.naf_code, commune.latitude, commune.longitude)
    listing = Listing.objects.create(
        establishment=establishment,
        professional=professional,
        forward_number=forward_number(index),
        service_radius_km=spec.radius_km,
        notification_email=spec.email,
    )
    services.approve([listing])
    if spec.extra_metiers:
        listing.metiers.add(*Metier.objects.filter(slug__in=spec.extra_metiers))
    return listing


def _nearest_free(naf_code: str, lat: float, lon: float):
    """The nearest active, fully diffusible, unclaimed establishment of a NAF code."""
    candidates = []
    for box in (0.15, 0.6, 3.0):
        candidates = list(
            Establishment.objects.filter(
                naf_code=naf_code, active=True, diffusion=Establishment.Diffusion.FULL,
                listing__isnull=True, latitude__range=(lat - box, lat + box),
                longitude__range=(lon - box, lon + box),
            ).only("siret", "latitude", "longitude", "search_name")
        )
        if candidates:
            break
    if not candidates:
        raise LookupError(f"no free establishment of {naf_code} near {lat}, {lon}")
    return min(candidates, key=lambda e: (not e.search_name,  # a trade name reads better
                                          haversine_km(lat, lon, e.latitude, e.longitude),
                                          e.siret))
