"""Counters for rate limits: fixed hourly windows in Django's cache.

Keys are HMACs of the scope and the identifier (a network, an account name, a message
reference): the cache never holds them in clear. The cache must be shared by every web
node (``CACHE_URL``) for a limit to hold across them.
"""

from datetime import datetime

from django.core.cache import cache
from django.utils import timezone
from django.utils.crypto import salted_hmac

WINDOW_SECONDS = 3600


def _key(scope: str, identifier: str, now: datetime) -> str:
    digest = salted_hmac("relais.ratelimit", f"{scope}|{identifier}",
                         algorithm="sha256").hexdigest()[:32]
    return f"relais:rl:{scope}:{digest}:{now:%Y%m%d%H}"


def count(scope: str, identifier: str, now: datetime | None = None) -> int:
    """How many times this identifier was counted in the current window."""
    return int(cache.get(_key(scope, identifier, now or timezone.now()), 0))


def add(scope: str, identifier: str, now: datetime | None = None) -> int:
    """Count one more for this identifier; returns the window's count so far."""
    key = _key(scope, identifier, now or timezone.now())
    cache.add(key, 0, timeout=WINDOW_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=WINDOW_SECONDS)
        return 1


def hit(scope: str, identifier: str, limit: int, now: datetime | None = None) -> bool:
    """Count one request; False once the window holds more than ``limit``."""
    return add(scope, identifier, now) <= limit


def reached(scope: str, identifier: str, limit: int, now: datetime | None = None) -> bool:
    """True when ``limit`` counts were already made in this window (nothing is counted)."""
    return count(scope, identifier, now) >= limit
