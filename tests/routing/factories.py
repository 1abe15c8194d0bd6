"""Builders for routing tests: professionals, listings, voicemails (small, explicit)."""

import io
import itertools
import math
import wave

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.utils import timezone

from relais.directory.models import Establishment, Metier
from relais.pros.models import Listing, Professional
from relais.voicemail.models import Voicemail

_seq = itertools.count(1)

# Around Nantes (47.218, -1.553): handy reference points.
NANTES = (47.2184, -1.5536)
CALLER = "+33612345678"
CALLER_FR = "06 12 34 56 78"


def offset(lat: float, lon: float, north_km: float = 0.0, east_km: float = 0.0):
    """A point ``north_km`` north and ``east_km`` east of (lat, lon) (small distances)."""
    dlat = north_km / 111.195
    dlon = east_km / (111.195 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def professional(email: str | None = None) -> Professional:
    n = next(_seq)
    user = get_user_model().objects.create_user(
        username=f"pro{n}", email=email if email is not None else f"pro{n}@example.fr",
        password="motdepasse-solide-42",
    )
    return Professional.objects.create(user=user, email_verified_at=timezone.now())


def establishment(lat, lon, *, name=None, active=True) -> Establishment:
    n = next(_seq)
    siret = f"{n:014d}"
    return Establishment.objects.create(
        siret=siret, siren=siret[:9], name=name or f"Entreprise {n}", latitude=lat,
        longitude=lon, active=active, naf_code="43.22A",
    )


def listing(lat, lon, metiers=("plombier",), *, status=Listing.Status.APPROVED, radius=30,
            email=None, notify=Listing.Notify.INSTANT, paused=False, active=True, pro=None,
            name=None) -> Listing:
    pro = pro or professional()
    item = Listing.objects.create(
        establishment=establishment(lat, lon, name=name, active=active), professional=pro,
        status=status, service_radius_km=radius, notification_email=email or "",
        notify=notify, shared_paused=paused,
        approved_at=timezone.now() if status == Listing.Status.APPROVED else None,
    )
    item.metiers.set(Metier.objects.filter(slug__in=metiers))
    return item


def wav_bytes(seconds: float = 0.5, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x01\x00" * int(seconds * rate))
    return buf.getvalue()


TRANSCRIPT = ("Bonjour, j'ai une fuite d'eau sous l'évier, pouvez-vous passer aujourd'hui ? "
              "Je suis Nadia Bensaïd, rappelez-moi au 06 12 34 56 78. Merci.")
REDACTED = ("Bonjour, j'ai une fuite d'eau sous l'évier, pouvez-vous passer aujourd'hui ? "
            "Je suis [nom], rappelez-moi au [numéro]. Merci.")


def voicemail(called: Listing | None, *, consent="share", final=True, shareable=True,
              confidence=0.95, metier="plombier", caller=CALLER, urgency="urgent",
              intent="quote_request", audio=True) -> Voicemail:
    vm = Voicemail.objects.create(
        listing=called, caller_e164=caller, consent=consent,
        consent_recorded_at=timezone.now() if final else None,
        status=Voicemail.Status.PROCESSING, transcript=TRANSCRIPT, redacted_text=REDACTED,
        intent=intent, shareable=shareable, confidence=confidence,
        metier=Metier.objects.get(slug=metier) if metier else None, urgency=urgency,
        language="fr",
    )
    if audio:
        vm.audio.save("message.wav", ContentFile(wav_bytes(1.0)), save=False)
        vm.extract.save("extract.wav", ContentFile(wav_bytes(0.5)), save=False)
        vm.save(update_fields=["audio", "extract"])
    return vm
