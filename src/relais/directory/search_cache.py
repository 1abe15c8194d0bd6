"""A short-lived cache of search answers (métier × place × page), shared by web workers.

The same searches repeat (a trade near a large town): the API's answer is kept in
Django's ``search`` cache (``CACHE_URL``: Redis in production, shared by every web node;
without it, each worker's memory) for
``RELAIS_SEARCH_CACHE_SECONDS`` (60 s; 0 turns it off), under a key made of the
normalised query and a **generation** number, kept in the ``default`` cache that every
worker shares. Anything that changes what a search shows
bumps the generation (:func:`invalidate`), which orphans every cached answer at once:

- the SIRENE import (``directory.signals.establishments_changed``, connected in
  ``DirectoryConfig.ready``);
- a listing claimed, approved, rejected, its métiers or settings changed, a tracking
  number assigned or released (model signals connected by the apps that own those
  models: pros, calls).

Between an invalidation and the next request nothing stale is served; what no signal
covers (a bulk UPDATE by hand) lasts at most the TTL.
"""

import hashlib
from collections.abc import Callable, Mapping

from django.conf import settings
from django.core.cache import cache, caches

GENERATION_KEY = "relais:search:generation"


def ttl() -> int:
    return settings.RELAIS_SEARCH_CACHE_SECONDS


def _generation() -> int:
    value = cache.get(GENERATION_KEY)
    if value is None:
        cache.add(GENERATION_KEY, 1, timeout=None)
        value = cache.get(GENERATION_KEY) or 1
    return int(value)


def invalidate(*args, **kwargs) -> None:
    """Forget every cached answer (a signal receiver: any arguments)."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # no generation yet: nothing cached under it either
        cache.add(GENERATION_KEY, 1, timeout=None)


def key(kind: str, params: Mapping, fields: tuple[str, ...]) -> str:
    """The cache key of a search: the kind of answer and the normalised parameters."""
    norm = "&".join(f"{name}={' '.join(params.get(name, '').split()).lower()}"
                    for name in fields)
    digest = hashlib.blake2b(norm.encode(), digest_size=16).hexdigest()
    return f"relais:search:{_generation()}:{kind}:{digest}"


def cached(kind: str, params: Mapping, fields: tuple[str, ...],
           build: Callable[[], tuple[bytes, int]]) -> tuple[bytes, int]:
    """The answer ``build()`` gives (body, HTTP status), from the cache when it holds
    it; only successful answers are kept."""
    if ttl() <= 0:
        return build()
    answers = caches["search"]
    k = key(kind, params, fields)
    hit = answers.get(k)
    if hit is not None:
        return hit
    body, status = build()
    if status == 200:
        answers.set(k, (body, status), timeout=ttl())
    return body, status
