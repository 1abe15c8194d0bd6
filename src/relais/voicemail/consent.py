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
4. the periodic ``settle-stale-messages`` job, for consents left open by lost callbacks
   an hour on (private);
5. for a request written by SMS (no call), the caller's SMS answer (relais.texts), or
   :func:`pending_until` once ``RELAIS_SMS_CONSENT_WAIT_SECONDS`` have passed;
6. :func:`pending_until` called more than ``RELAIS_CONSENT_WAIT_SECONDS`` after the
   message was created (lost callbacks: private).

The first final decision wins; later callbacks never change it (a provider retry of an
old request cannot turn ``private`` into ``share``). Providers send callbacks
asynchronously, so the recording may be downloaded and transcribed before the consent
is final: processing starts at once, and the *route* step — the only one that looks at
consent — asks :func:`pending_until`; while the caller may still be answering, the step
*waits* (``pipeline.Wait``: the explicit step state ``waiting``, no attempt counted, no
error) until the wait is over. :func:`record` making the consent final wakes it at once
(``pipeline.wake``, enqueued on commit).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from relais.voicemail import pipeline
from relais.voicemail.models import Voicemail, is_text

SHARE = Voicemail.Consent.SHARE
PRIVATE = Voicemail.Consent.PRIVATE


def from_digits(digits: str) -> str:
    return SHARE if digits == "1" else PRIVATE


def _decide(voicemail_id, consent: str, now) -> bool:
    return bool(
        Voicemail.objects.filter(pk=voicemail_id, consent_recorded_at__isnull=True).update(
            consent=consent, consent_recorded_at=now or timezone.now()
        )
    )


def record(voicemail_id, consent: str, now=None) -> bool:
    """Make the consent final unless it already is. True if this call decided it; then
    a pipeline step waiting for it is woken (enqueued once the transaction commits)."""
    decided = _decide(voicemail_id, consent, now)
    if decided:
        pipeline.wake(voicemail_id)
    return decided


def is_final(voicemail: Voicemail) -> bool:
    return voicemail.consent_recorded_at is not None


def deadline(voicemail: Voicemail) -> datetime:
    """When an undecided consent becomes private: ``RELAIS_CONSENT_WAIT_SECONDS`` after
    the message was created (``RELAIS_SMS_CONSENT_WAIT_SECONDS`` for a request written
    by SMS, asked by SMS: "répondez OUI")."""
    seconds = (settings.RELAIS_SMS_CONSENT_WAIT_SECONDS if is_text(voicemail)
               else settings.RELAIS_CONSENT_WAIT_SECONDS)
    return voicemail.created_at + timedelta(seconds=seconds)


def pending_until(voicemail: Voicemail, now=None) -> datetime | None:
    """Until when the route step must wait for the caller's consent; ``None`` when the
    consent is final.

    While the call may still be answering the question (the call is not over and the
    wait is not), returns the end of the wait (:func:`deadline`). Once the wait or the
    call is over, an undecided consent is settled to private and ``None`` is returned.
    ``voicemail.consent`` and ``consent_recorded_at`` are refreshed from the database.
    """
    now = now or timezone.now()
    current = Voicemail.objects.select_related("call").get(pk=voicemail.pk)
    if current.consent_recorded_at is None:
        call_over = current.call is not None and current.call.ended_at is not None
        # A written request has no call: only its window (or the answer) ends the wait.
        no_call = current.call is None and not is_text(current)
        until = deadline(current)
        if not (call_over or no_call or until <= now):
            return until
        # The route step itself settles it: nothing to wake (it is the one running).
        _decide(current.pk, PRIVATE, now)
        current.refresh_from_db(fields=["consent", "consent_recorded_at"])
    voicemail.consent = current.consent
    voicemail.consent_recorded_at = current.consent_recorded_at
    return None
