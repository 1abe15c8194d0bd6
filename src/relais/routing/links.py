"""Personal, signed, expiring links to one delivery (``/r/<token>/``).

A token binds one delivery id to one recipient listing, signed with SECRET_KEY
(django.core.signing, a dedicated salt) and timestamped: it is valid for
``RELAIS_LINK_MAX_AGE_DAYS`` days after it was issued. It carries no personal data.
:func:`read` tells apart a tampered token (:class:`LinkInvalid`, shown as 403) from an
expired one (:class:`LinkExpired`, 410).
"""

import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "relais.routing.delivery-link"


class LinkInvalid(Exception):
    """Tampered, truncated or forged token."""


class LinkExpired(Exception):
    """A genuine token older than RELAIS_LINK_MAX_AGE_DAYS."""


class _Signer(signing.TimestampSigner):
    """A timestamp signer whose clock can be set (tokens issued in the past, in tests)."""

    def __init__(self, *, at: float | None = None, **kwargs):
        self._at = at
        super().__init__(**kwargs)

    def timestamp(self):
        return signing.b62_encode(int(self._at if self._at is not None else time.time()))


def max_age() -> timedelta:
    return timedelta(days=settings.RELAIS_LINK_MAX_AGE_DAYS)


def make_token(delivery, *, issued_at: float | None = None) -> str:
    """The token of one delivery for its recipient listing."""
    payload = [delivery.pk.hex, delivery.listing_id]
    return _Signer(at=issued_at, salt=SALT).sign_object(payload)


def read(token: str) -> tuple[uuid.UUID, int]:
    """(delivery id, listing id) of a valid token; raises LinkInvalid / LinkExpired."""
    try:
        payload = _Signer(salt=SALT).unsign_object(token, max_age=max_age())
    except signing.SignatureExpired as exc:
        raise LinkExpired(str(exc)) from exc
    except (signing.BadSignature, ValueError, UnicodeDecodeError) as exc:
        raise LinkInvalid(str(exc)) from exc
    try:
        delivery_hex, listing_id = payload
        return uuid.UUID(hex=delivery_hex), int(listing_id)
    except (TypeError, ValueError) as exc:
        raise LinkInvalid("malformed payload") from exc


def path(delivery, **kwargs) -> str:
    return reverse("routing:delivery", args=[make_token(delivery, **kwargs)])


def url(delivery, **kwargs) -> str:
    """The absolute link put in emails."""
    return settings.RELAIS_PUBLIC_URL + path(delivery, **kwargs)
