"""Call policy: who gets through, as plain decisions, plus the per-caller rate limit.

``decide_incoming`` takes facts and returns a decision; the view gathers the facts (the
tracking number, the block list, the rate limit) and applies it. Withheld numbers: the
caller is let through (the professional decides whether to pick up, and the caller may
leave a message — but cannot later use the caller portal, which needs their number).
They have no number to count calls by, so withheld calls are counted together per
tracking number, against the same limit.
"""

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class Decision:
    accept: bool
    reason: str = ""  # why a call is refused (Call.reason)
    prompt: str = ""  # what the caller hears then (data/prompts.toml key)
    voicemail: bool = False  # accepted straight to the voicemail (no one to ring)


ACCEPT = Decision(True)


def decide_incoming(*, number_known: bool, assigned: bool, claimed: bool, forward: str,
                    blocked: bool, rate_limited: bool, via_pool: bool = False) -> Decision:
    """``via_pool``: a number of the pool bound to a listing when the call came in; an
    unclaimed listing (or one without a forward number) then takes a message directly."""
    if blocked:
        return Decision(False, "blocked", "blocked")
    if rate_limited:
        return Decision(False, "rate_limited", "rate_limited")
    if not number_known:
        return Decision(False, "unknown_number", "unknown_number")
    if via_pool and not claimed:
        return Decision(True, "unclaimed", voicemail=True)
    if via_pool and not forward:
        return Decision(True, "no_forward_number", voicemail=True)
    if not assigned:
        return Decision(False, "unassigned", "unavailable")
    if not claimed:
        return Decision(False, "unclaimed", "unavailable")
    if not forward:
        return Decision(False, "no_forward_number", "unavailable")
    return ACCEPT


def rate_key(caller_e164: str, to_e164: str) -> str:
    return f"calls:rate:{caller_e164}" if caller_e164 else f"calls:rate:withheld:{to_e164}"


def over_rate_limit(key: str, now: float | None = None) -> bool:
    """Count one call for ``key``; True when it exceeds RELAIS_CALLER_RATE_LIMIT per hour.

    A fixed one-hour window in the cache (shared by every web worker with the file,
    database or Redis cache). A limit of 0 turns the limit off.
    """
    limit = settings.RELAIS_CALLER_RATE_LIMIT
    if limit <= 0:
        return False
    window = int((now or time.time()) // 3600)
    bucket = f"{key}:{window}"
    cache.add(bucket, 0, timeout=3700)
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.set(bucket, 1, timeout=3700)
        count = 1
    return count > limit
