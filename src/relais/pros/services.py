"""Professionals: claims, approval, listing settings — the functions other apps call."""

from collections.abc import Callable, Iterable

import phonenumbers
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from relais.directory.models import Establishment, Metier
from relais.directory.reference import default_metiers_by_naf

from .models import Listing, Professional

# Regions whose numbers calls may be forwarded to: France and its overseas départements
# and collectivities served by +33 and the DOM country codes.
FORWARD_REGIONS = frozenset({"FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF"})
REFUSED_TYPES = frozenset({
    phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST,
    phonenumbers.PhoneNumberType.UAN,
    phonenumbers.PhoneNumberType.VOICEMAIL,
})


class ClaimError(ValueError):
    """A claim that cannot be made; the message is shown to the professional."""


# Checks of a forward number added by the apps above pros, which pros never imports, from
# their AppConfig.ready(): each takes the number (E.164) and returns a French reason to
# refuse it, or "" to accept it. relais.calls refuses its own tracking numbers (a call
# forwarded to one comes back to Relais: a loop).
FORWARD_NUMBER_CHECKS: list[Callable[[str], str]] = []


def add_forward_number_check(check: Callable[[str], str]) -> None:
    """Register a forward-number check (idempotent: ready() may run more than once)."""
    if check not in FORWARD_NUMBER_CHECKS:
        FORWARD_NUMBER_CHECKS.append(check)


def normalise_forward_number(value: str) -> str:
    """A French number as people type it → E.164; ValueError with a French message.

    Also refused: any number a registered check refuses (:data:`FORWARD_NUMBER_CHECKS`).
    """
    value = (value or "").strip()
    if not value:
        raise ValueError(_("Indiquez un numéro de téléphone."))
    try:
        number = phonenumbers.parse(value[:40], "FR")
    except phonenumbers.NumberParseException:
        raise ValueError(_("Ce n'est pas un numéro de téléphone.")) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(_("Ce numéro n'existe pas : vérifiez les chiffres."))
    if phonenumbers.region_code_for_number(number) not in FORWARD_REGIONS:
        raise ValueError(_("Les appels ne peuvent être renvoyés que vers un numéro français."))
    if phonenumbers.number_type(number) in REFUSED_TYPES:
        raise ValueError(_("Les numéros surtaxés ou spéciaux ne sont pas acceptés."))
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    for check in FORWARD_NUMBER_CHECKS:
        reason = check(e164)
        if reason:
            raise ValueError(reason)
    return e164


def normalise_siret(value: str) -> str:
    return "".join(ch for ch in (value or "") if not ch.isspace() and ch not in ".-")[:20]


@transaction.atomic
def claim(professional: Professional, siret: str) -> Listing:
    """Ask to manage an establishment's listing: a pending Listing the operator approves."""
    if not professional.email_verified:
        raise ClaimError(_("Confirmez d'abord votre adresse e-mail (lien reçu par e-mail)."))
    siret = normalise_siret(siret)
    if len(siret) != 14 or not (siret.isascii() and siret.isdigit()):
        raise ClaimError(_("Un numéro SIRET a 14 chiffres."))
    establishment = Establishment.objects.filter(siret=siret).first()
    if establishment is None:
        raise ClaimError(_("Aucun établissement de l'annuaire n'a ce numéro SIRET."))
    if not establishment.active:
        raise ClaimError(_("Cet établissement est fermé selon le répertoire SIRENE."))
    listing = Listing.objects.select_for_update().filter(establishment=establishment).first()
    if listing is not None:
        if listing.professional_id == professional.pk:
            raise ClaimError(_("Vous avez déjà demandé cette fiche."))
        if listing.status != Listing.Status.REJECTED:
            raise ClaimError(_("Cette fiche est déjà revendiquée par un autre professionnel."))
        listing.metiers.clear()
        listing.professional = professional
        listing.status = Listing.Status.PENDING
        listing.approved_at = None
        listing.forward_number = ""
        listing.notification_email = professional.user.email
        listing.save()
        return listing
    return Listing.objects.create(
        establishment=establishment,
        professional=professional,
        notification_email=professional.user.email,
    )


def default_metier_slugs(naf_code: str) -> tuple[str, ...]:
    return default_metiers_by_naf().get(naf_code, ())


@transaction.atomic
def approve(listings: Iterable[Listing]) -> int:
    """Operator approval: the listing is claimed; métiers default to its NAF code's."""
    count = 0
    now = timezone.now()
    for listing in listings:
        if listing.status == Listing.Status.APPROVED:
            continue
        listing.status = Listing.Status.APPROVED
        listing.approved_at = now
        listing.save(update_fields=["status", "approved_at"])
        if not listing.metiers.exists():
            slugs = default_metier_slugs(listing.establishment.naf_code)
            listing.metiers.set(Metier.objects.filter(slug__in=slugs))
        count += 1
    return count


@transaction.atomic
def reject(listings: Iterable[Listing]) -> int:
    count = 0
    for listing in listings:
        if listing.status != Listing.Status.REJECTED:
            listing.status = Listing.Status.REJECTED
            listing.approved_at = None
            listing.save(update_fields=["status", "approved_at"])
            count += 1
    return count


def claimed_metier_overrides(
    slug: str,
) -> tuple[Callable[[list[str]], set[str]], Callable[[tuple], list[tuple[str, float, float]]]]:
    """What professionals decided about a métier, for the directory search.

    Returns two functions: ``opted_out(sirets)`` gives those of the SIRETs whose claimed
    listing dropped the métier; ``opted_in(box)`` gives the claimed listings that chose
    it within a bounding box, as (siret, latitude, longitude).
    """
    approved = Listing.objects.filter(status=Listing.Status.APPROVED)

    def opted_out(sirets: list[str]) -> set[str]:
        # Most results are unclaimed: one indexed lookup that usually finds nothing,
        # then the métiers of the few claimed ones.
        claimed = dict(approved.filter(establishment_id__in=sirets)
                       .values_list("pk", "establishment_id")) if sirets else {}
        if not claimed:
            return set()
        keep = set(Listing.metiers.through.objects.filter(listing_id__in=claimed, metier_id=slug)
                   .values_list("listing_id", flat=True))
        return {siret for pk, siret in claimed.items() if pk not in keep}

    def opted_in(box: tuple) -> list[tuple[str, float, float]]:
        min_lat, max_lat, min_lon, max_lon = box
        if chosen is None:
            load_chosen()
        return [c for c in chosen
                if min_lat <= c[1] <= max_lat and min_lon <= c[2] <= max_lon]

    chosen: list[tuple[str, float, float]] | None = None

    def load_chosen() -> None:
        # Claimed listings of one métier are few: read them once, filter boxes in Python.
        nonlocal chosen
        sirets = Listing.metiers.through.objects.filter(
            metier_id=slug, listing__status=Listing.Status.APPROVED
        ).values_list("listing__establishment_id", flat=True)
        chosen = [c for c in Establishment.objects.filter(siret__in=list(sirets), active=True)
                  .values_list("siret", "latitude", "longitude") if c[1] is not None]

    return opted_out, opted_in
