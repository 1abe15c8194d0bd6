"""The caller's consent to share their message, and when it is final.

After recording, the caller is asked: 1 = the request may also go to other professionals
of the same trade nearby (``share``); any other key, no key, or hanging up = only the
called professional (``private``, privacy by default). ``Voicemail.consent`` starts as
``private``; ``Voicemail.consent_recorded_at`` is set once the consent is *final*, by
whichever comes first:

1. the gather action (the caller pressed a key or let the question time out);
2. the record action reporting ``Digits=hangup`` (hung up during the recording: private);
3. the call's final status callback (the call is over: if the caller never answered the
   question, e.g. hung up before or during it, private);
4. :func:`final_consent` called more than ``RELAIS_CONSENT_WAIT_SECONDS`` after the
   message was created (lost callbacks: private).

The first final decision wins; later callbacks never change it (a provider retry of an
old request cannot turn ``private`` into ``share``). Providers send callbacks
asynchronously, so the recording may be downloaded and transcribed before the consent
is final: processing starts at once, and the *route* step — the only one that looks at
consent — calls :func:`final_consent`, which raises :class:`ConsentPending` (a retryable
error: the pipeline tries again with backoff) while the call may still be answering.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from relais.voicemail.models import Voicemail

SHARE = Voicemail.Consent.SHARE
PRIVATE = Voicemail.Consent.PRIVATE


class ConsentPending(Exception):
    """The caller may still be answering the consent question: try again later."""


def from_digits(digits: str) -> str:
    return SHARE if digits == "1" else PRIVATE


def record(voicemail_id, consent: str, now=None) -> bool:
    """Make the consent final unless it already is. True if this call decided it."""
    return bool(
        Voicemail.objects.filter(pk=voicemail_id, consent_recorded_at__isnull=True).update(
            consent=consent, consent_recorded_at=now or timezone.now()
        )
    )


def is_final(voicemail: Voicemail) -> bool:
    return voicemail.consent_recorded_at is not None


def final_consent(voicemail: Voicemail, now=None) -> str:
    """The final consent of a message, settling it to private when the wait is over.

    For the route step: raises :class:`ConsentPending` while the call may still be
    answering the question.
    """
    now = now or timezone.now()
    current = Voicemail.objects.select_related("call").get(pk=voicemail.pk)
    if current.consent_recorded_at is None:
        call_over = current.call is not None and current.call.ended_at is not None
        waited = current.created_at <= now - timedelta(
            seconds=settings.RELAIS_CONSENT_WAIT_SECONDS
        )
        if not (call_over or waited or current.call is None):
            raise ConsentPending(f"message {current.reference}: consent not final yet")
        record(current.pk, PRIVATE, now)
        current.refresh_from_db(fields=["consent", "consent_recorded_at"])
    voicemail.consent = current.consent
    voicemail.consent_recorded_at = current.consent_recorded_at
    return current.consent
