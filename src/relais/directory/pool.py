"""The number pool (dynamic number insertion): a few tracking numbers serve every listing.

A visitor who asks for a listing's number ("Afficher le numéro") is shown a number of
the pool, bound to that listing and that visitor (a keyed hash of a random cookie) for
``RELAIS_POOL_BINDING_SECONDS``; the same visitor on the same listing keeps the same
number (the binding is extended). A call to a pool number reaches the listing it is
bound to (:func:`resolve`, asked by the calls app): forwarded if the listing is claimed,
otherwise straight to a voicemail that only claimed professionals of the trade nearby
may receive, and only with the caller's consent (relais.routing).

Re-binding and attribution. A number is bound again only once it has been quiet for
``RELAIS_POOL_QUIET_SECONDS`` after its binding ended (every call it receives pushes
that later, ``PoolNumber.free_at``): bindings of one number never overlap, so a call is
attributed by its time — to the binding whose window ``[bound_at, quiet_until)`` holds
it. A caller who dials a number from a page seen an hour ago reaches that listing; once
the quiet period is over and the number serves another listing, a call reaches the new
one.

Sizing (Little's law): each binding holds its number for the binding time plus the
quiet period, so the pool needs ``bindings per second × (binding + quiet)`` numbers,
with some headroom (:func:`numbers_needed`; ``relais number_pool status`` measures the
rate). When the pool is exhausted no number is shown (never another listing's).
"""

import logging
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .models import PoolBinding, PoolNumber

logger = logging.getLogger(__name__)

COOKIE = "relais_visitor"
CANDIDATES = 8  # a claim picks among the first few free numbers: fewer collisions


def binding_time() -> timedelta:
    return timedelta(seconds=settings.RELAIS_POOL_BINDING_SECONDS)


def quiet_time() -> timedelta:
    return timedelta(seconds=settings.RELAIS_POOL_QUIET_SECONDS)


def visitor_key(token: str) -> str:
    """The stored form of a visitor's cookie: a keyed hash (the cookie itself is never
    stored)."""
    return salted_hmac("relais.directory.pool", token, algorithm="sha256").hexdigest()


def _free(now: datetime) -> Q:
    return Q(active=True, free_at__lte=now)


def bind(siret: str, visitor: str, now: datetime | None = None) -> str | None:
    """The pool number shown to ``visitor`` (a :func:`visitor_key`) for the listing
    ``siret``: their current one (extended), else a free one bound now; None when the
    pool has no free number."""
    now = now or timezone.now()
    expires = now + binding_time()
    quiet_until = expires + quiet_time()
    with transaction.atomic():
        current = (PoolBinding.objects.select_related("number")
                   .filter(visitor=visitor, siret=siret, expires_at__gt=now,
                           number__active=True)
                   .order_by("-expires_at").first())
        if current is not None:
            PoolBinding.objects.filter(pk=current.pk).update(
                expires_at=expires, quiet_until=Greatest(F("quiet_until"), quiet_until))
            PoolNumber.objects.filter(pk=current.number_id).update(
                free_at=Greatest(F("free_at"), quiet_until))
            return current.number.e164
    for _ in range(5):
        candidates = list(PoolNumber.objects.filter(_free(now))
                          .order_by("free_at")
                          .values_list("pk", "e164")[:CANDIDATES])
        if not candidates:
            logger.warning("number pool exhausted: no number shown for %s", siret)
            return None
        pk, e164 = random.choice(candidates)  # spreading, not secrecy
        with transaction.atomic():
            # The conditional UPDATE is the claim: a concurrent request that picked the
            # same number finds it taken and tries another.
            if PoolNumber.objects.filter(_free(now), pk=pk).update(free_at=quiet_until):
                PoolBinding.objects.create(number_id=pk, siret=siret, visitor=visitor,
                                           bound_at=now, expires_at=expires,
                                           quiet_until=quiet_until)
                return e164
    logger.warning("number pool: no free number could be claimed for %s", siret)
    return None


def binding_at(e164: str, at: datetime | None = None) -> PoolBinding | None:
    """The binding a call to ``e164`` at ``at`` belongs to, or None (not a pool number,
    or not bound then)."""
    at = at or timezone.now()
    return (PoolBinding.objects.filter(number__e164=e164, number__active=True,
                                       bound_at__lte=at, quiet_until__gt=at)
            .order_by("-bound_at").first())


def resolve(e164: str, at: datetime | None = None, *, touch: bool = True) -> str | None:
    """A call to ``e164`` arrives at ``at``: the SIRET of the listing it reaches, or None.
    The call keeps the number quiet for the quiet period from now (a caller who rings
    again soon still reaches the same listing) — unless ``touch`` is False: a call that
    may yet be refused (blocked, rate-limited) must not hold the number; :func:`touch`
    once it is accepted."""
    at = at or timezone.now()
    binding = binding_at(e164, at)
    if binding is None:
        return None
    if touch:
        _touch(binding, at)
    return binding.siret


def touch(e164: str, at: datetime | None = None) -> None:
    """An accepted call to the pool number ``e164``: its quiet period runs from ``at``."""
    at = at or timezone.now()
    binding = binding_at(e164, at)
    if binding is not None:
        _touch(binding, at)


def _touch(binding, at: datetime) -> None:
    later = at + quiet_time()
    with transaction.atomic():
        PoolBinding.objects.filter(pk=binding.pk).update(
            quiet_until=Greatest(F("quiet_until"), later))
        PoolNumber.objects.filter(pk=binding.number_id).update(
            free_at=Greatest(F("free_at"), later))


# Checks the calls app registers (CallsConfig.ready): a message if a number may not join
# the pool (it is a dedicated tracking number), else "".
number_checks: list = []


def is_pool_number(e164: str) -> bool:
    return PoolNumber.objects.filter(e164=e164).exists()


def add_numbers(values) -> list[PoolNumber]:
    """Add numbers (E.164) to the pool; returns the ones that were new. (The calls app
    refuses to make a pool number a dedicated tracking number; the operator must not add
    a dedicated one here: ``relais number_pool add`` checks it through
    :data:`number_checks`.)"""
    for check in number_checks:
        for e164 in values:
            if error := check(e164):
                raise ValueError(error)
    created = []
    now = timezone.now()
    for e164 in values:
        number, new = PoolNumber.objects.get_or_create(e164=e164, defaults={"free_at": now})
        if new:
            created.append(number)
    return created


def purge(now: datetime | None = None) -> int:
    """Periodic job: forget bindings whose quiet period ended more than
    ``RELAIS_POOL_KEEP_DAYS`` ago (calls keep their attribution on the call log)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.RELAIS_POOL_KEEP_DAYS)
    deleted, _ = PoolBinding.objects.filter(quiet_until__lt=cutoff).delete()
    return deleted


def numbers_needed(bindings_per_hour: float, binding_seconds: float | None = None,
                   quiet_seconds: float | None = None, headroom: float = 1.25) -> int:
    """Pool size for a binding rate (Little's law): each binding holds its number for
    the binding time plus the quiet period."""
    binding_seconds = (settings.RELAIS_POOL_BINDING_SECONDS if binding_seconds is None
                       else binding_seconds)
    quiet_seconds = settings.RELAIS_POOL_QUIET_SECONDS if quiet_seconds is None else quiet_seconds
    held = binding_seconds + quiet_seconds
    return math.ceil(bindings_per_hour / 3600 * held * headroom)


@dataclass(frozen=True)
class Status:
    size: int
    free: int
    bound: int  # within a binding window
    quiet: int  # binding over, quiet period running
    bindings_last_hour: int
    needed: int


def status(now: datetime | None = None) -> Status:
    now = now or timezone.now()
    numbers = PoolNumber.objects.filter(active=True)
    size = numbers.count()
    free = numbers.filter(_free(now)).count()
    bound = (PoolBinding.objects.filter(bound_at__lte=now, expires_at__gt=now)
             .values("number").distinct().count())
    last_hour = PoolBinding.objects.filter(bound_at__gt=now - timedelta(hours=1)).count()
    return Status(size=size, free=free, bound=bound, quiet=size - free - bound,
                  bindings_last_hour=last_hour, needed=numbers_needed(last_hour))
