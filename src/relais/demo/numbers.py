"""The demo listings' tracking numbers, from ARCEP's block reserved for fiction."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from relais.calls.models import TrackingNumber
from relais.calls.numbers import DEMO_TRACKING_PREFIX, NumberError, free_numbers
from relais.directory import pool
from relais.pros.models import Listing


def ensure_demo_numbers(listings: Iterable[Listing]) -> list[TrackingNumber]:
    """Give every claimed demo listing a tracking number from ARCEP's fiction block.

    Idempotent: a listing keeping its number keeps it. Unclaimed listings get none (only
    claimed listings receive calls). Returns the numbers of the given claimed listings.
    """
    numbers = []
    for listing in listings:
        if not listing.claimed:
            continue
        with transaction.atomic():
            current = TrackingNumber.objects.filter(listing=listing).first()
            if current is None:
                current = _next_demo_number()
                current.listing = listing
                current.assigned_at = timezone.now()
                current.save(update_fields=["listing", "assigned_at"])
        numbers.append(current)
    return numbers


def _next_demo_number() -> TrackingNumber:
    free = free_numbers().filter(e164__startswith=DEMO_TRACKING_PREFIX).order_by("e164").first()
    if free is not None:
        return free
    used = set(
        TrackingNumber.objects.filter(e164__startswith=DEMO_TRACKING_PREFIX)
        .values_list("e164", flat=True)
    )
    for n in range(1, 10_000):
        e164 = f"{DEMO_TRACKING_PREFIX}{n:04d}"
        if e164 not in used:
            return TrackingNumber.objects.create(e164=e164)
    raise NumberError("the fiction block +33 1 99 00 xx xx is full")


DEMO_POOL_SIZE = 20


def ensure_demo_pool(size: int = DEMO_POOL_SIZE) -> list[str]:
    """A small number pool for the demo (relais.directory.pool), from the top of the
    fiction block (+33 1 99 00 99 00 …), away from the listings' own numbers.
    Idempotent; returns the pool's numbers."""
    numbers = [f"{DEMO_TRACKING_PREFIX}{9900 + n:04d}" for n in range(size)]
    taken = set(TrackingNumber.objects.filter(e164__in=numbers).values_list("e164", flat=True))
    pool.add_numbers([n for n in numbers if n not in taken])
    return [n for n in numbers if n not in taken]
