"""Professionals: claims, approval, listing settings — the functions other apps call."""

from collections.abc import Callable, Iterable
from functools import cache

import phonenumbers
from django.db import connection, transaction
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


@cache
def _override_sql() -> tuple[str, str]:
    """The two queries behind :func:`claimed_metier_overrides`, written once from the
    models' tables (the search runs them on every request: the ORM would spend more time
    building them than the database answering them)."""
    q = connection.ops.quote_name
    through_model = Listing.metiers.through
    listing, through = q(Listing._meta.db_table), q(through_model._meta.db_table)
    establishment = q(Establishment._meta.db_table)
    l_id, status = q(Listing._meta.pk.column), q(Listing._meta.get_field("status").column)
    l_siret = q(Listing._meta.get_field("establishment").column)
    m_listing = q(through_model._meta.get_field("listing").column)
    m_metier = q(through_model._meta.get_field("metier").column)
    e_siret, e_lat, e_lon, e_active = (q(Establishment._meta.get_field(f).column)
                                       for f in ("siret", "latitude", "longitude", "active"))
    opted_out = (  # approved listings among the SIRETs that did not keep the métier
        f"SELECT l.{l_siret} FROM {listing} l "  # noqa: S608
        f"WHERE l.{status} = %s AND l.{l_siret} IN ({{marks}}) AND NOT EXISTS "
        f"(SELECT 1 FROM {through} m WHERE m.{m_listing} = l.{l_id} AND m.{m_metier} = %s)"
    )
    opted_in = (  # approved listings that chose the métier, active, with a position
        f"SELECT e.{e_siret}, e.{e_lat}, e.{e_lon} FROM {through} m "  # noqa: S608
        f"JOIN {listing} l ON l.{l_id} = m.{m_listing} "
        f"JOIN {establishment} e ON e.{e_siret} = l.{l_siret} "
        f"WHERE m.{m_metier} = %s AND l.{status} = %s AND e.{e_active} = %s "
        f"AND e.{e_lat} IS NOT NULL AND e.{e_lon} IS NOT NULL"
    )
    return opted_out, opted_in


def claimed_metier_overrides(
    slug: str,
) -> tuple[Callable[[list[str]], set[str]], Callable[[tuple], list[tuple[str, float, float]]]]:
    """What professionals decided about a métier, for the directory search.

    Returns two functions: ``opted_out(sirets)`` gives those of the SIRETs whose claimed
    listing dropped the métier; ``opted_in(box)`` gives the claimed listings that chose
    it within a bounding box, as (siret, latitude, longitude).
    """
    approved = Listing.Status.APPROVED.value

    def opted_out(sirets: list[str]) -> set[str]:
        # Most results are unclaimed: one indexed lookup that usually finds nothing.
        if not sirets:
            return set()
        sql = _override_sql()[0].replace("{marks}", ", ".join(["%s"] * len(sirets)))
        with connection.cursor() as cursor:
            cursor.execute(sql, [approved, *sirets, slug])
            return {row[0] for row in cursor.fetchall()}

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
        with connection.cursor() as cursor:
            cursor.execute(_override_sql()[1], [slug, approved, True])
            chosen = cursor.fetchall()

    return opted_out, opted_in
