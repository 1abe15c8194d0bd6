"""The operator's pool of tracking numbers (parsing and display: :mod:`relais.core.phones`).

A tracking number is *free* (in the pool, no listing), *assigned*
(to exactly one claimed listing) or *released* (given back to the provider; kept for the
call log's history, never assigned again unless re-added).
"""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from relais.core.phones import NumberError, to_e164
from relais.directory import pool
from relais.pros.models import Listing

from .models import TrackingNumber

# ARCEP reserves six blocks of 10,000 numbers for fiction (plan national de numérotation):
# 01 99 00 xx xx, 02 61 91 xx xx, 03 53 01 xx xx, 04 65 71 xx xx, 05 36 49 xx xx and
# 06 39 98 xx xx. They can never ring anybody. Demo tracking numbers come from the first
# one; demo callers and forward numbers can use the mobile one.
FICTION_BLOCKS = ("+331990", "+332619", "+333530", "+334657", "+335364", "+336399")
DEMO_TRACKING_PREFIX = "+3319900"  # + 4 digits: +33 1 99 00 00 00 … +33 1 99 00 99 99
DEMO_CALLER_PREFIX = "+3363998"  # + 4 digits: +33 6 39 98 00 00 … +33 6 39 98 99 99

def is_fiction(e164: str) -> bool:
    return e164.startswith(FICTION_BLOCKS) and len(e164) == 12


# --- The pool -------------------------------------------------------------------------

def is_tracking_number(e164: str) -> bool:
    """A number of the pool (free or assigned): calls to it come to Relais."""
    return (TrackingNumber.objects.filter(e164=e164, released_at__isnull=True).exists()
            or pool.is_pool_number(e164))


def refuse_tracking_number(e164: str) -> str:
    """The check relais.pros runs on a forward number (registered in CallsConfig.ready):
    forwarding calls to a tracking number would send them back to Relais, in a loop."""
    if is_tracking_number(e164):
        return _("Ce numéro est un numéro de suivi Relais, celui publié sur les fiches : "
                 "les appels qui y sont renvoyés reviendraient à Relais, en boucle. "
                 "Indiquez le numéro où vous répondez vous-même.")
    return ""


def refuse_for_pool(e164: str) -> str:
    """The check the number pool runs on a new number (registered in CallsConfig.ready)."""
    if TrackingNumber.objects.filter(e164=e164).exists():
        return f"{e164} is a dedicated tracking number (relais numbers)"
    return ""


def add_numbers(values: Iterable[str]) -> tuple[list[TrackingNumber], list[TrackingNumber]]:
    """Add numbers to the pool (a released number comes back). Returns (added, existing).

    A number some listing forwards its calls to is refused (NumberError): it would ring
    Relais back, in a loop.
    """
    added, existing = [], []
    wanted = [to_e164(v) for v in values]  # parse all first: all or nothing
    forwarding = (Listing.objects.filter(forward_number__in=wanted)
                  .select_related("establishment").first())
    if forwarding is not None:
        raise NumberError(f"{forwarding.forward_number} is the forward number of listing "
                          f"{forwarding.establishment_id}: calls to it would loop")
    shared = [e164 for e164 in wanted if pool.is_pool_number(e164)]
    if shared:  # one meaning per number: a dedicated number is never a pool number
        raise NumberError(f"{shared[0]} is a number of the shared pool (relais number_pool)")
    for e164 in wanted:
        number, created = TrackingNumber.objects.get_or_create(e164=e164)
        if created:
            added.append(number)
        elif number.released_at is not None:
            number.released_at = None
            number.save(update_fields=["released_at"])
            added.append(number)
        else:
            existing.append(number)
    return added, existing


def release(value: str) -> TrackingNumber:
    """Give a number back to the provider: unassigned, out of the pool."""
    e164 = to_e164(value)
    with transaction.atomic():
        number = TrackingNumber.objects.select_for_update().filter(e164=e164).first()
        if number is None:
            raise NumberError(f"{e164} is not in the pool")
        number.listing = None
        number.released_at = number.released_at or timezone.now()
        number.save(update_fields=["listing", "released_at"])
    return number


def _check_assignable(listing: Listing) -> None:
    if not listing.claimed:
        raise NumberError(f"listing {listing.establishment_id} is not claimed")


def assign(value: str, listing: Listing) -> TrackingNumber:
    """Assign a pool number to a claimed listing (one number per listing)."""
    e164 = to_e164(value)
    _check_assignable(listing)
    with transaction.atomic():
        number = TrackingNumber.objects.select_for_update().filter(e164=e164).first()
        if number is None or number.released_at is not None:
            raise NumberError(f"{e164} is not in the pool")
        if number.listing_id == listing.pk:
            return number
        if number.listing_id is not None:
            raise NumberError(f"{e164} is already assigned to listing {number.listing}")
        current = TrackingNumber.objects.filter(listing=listing).first()
        if current is not None:
            raise NumberError(f"listing {listing.establishment_id} already has {current.e164}")
        number.listing = listing
        number.assigned_at = timezone.now()
        number.save(update_fields=["listing", "assigned_at"])
    return number


def free_numbers():
    return TrackingNumber.objects.filter(listing__isnull=True, released_at__isnull=True)


def assign_free_number(listing: Listing) -> TrackingNumber:
    """Give a claimed listing a free number from the pool (its own if it has one)."""
    _check_assignable(listing)
    with transaction.atomic():
        current = TrackingNumber.objects.filter(listing=listing).first()
        if current is not None:
            return current
        number = free_numbers().select_for_update(skip_locked=True).order_by("e164").first()
        if number is None:
            raise NumberError("no free tracking number left: add some with `relais numbers add`")
        number.listing = listing
        number.assigned_at = timezone.now()
        number.save(update_fields=["listing", "assigned_at"])
    return number


def public_number(listing: Listing | None) -> str | None:
    """The tracking number to publish for a listing (E.164), or None."""
    if listing is None or not listing.claimed:
        return None
    number = getattr(listing, "tracking_number", None)
    if number is None or number.released_at is not None:
        return None
    return number.e164
