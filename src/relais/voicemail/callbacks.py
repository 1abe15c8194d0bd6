"""The message left on a missed call, kept up to date from the provider's callbacks.

The record action, the recording-status callback and the gather action each create the
message if it does not exist yet (``get_or_create`` on the call, a one-to-one; the
recording SID is unique too), whichever arrives first: duplicates create nothing, and
out-of-order callbacks converge to the same state. Each runs in its callback's
transaction with the call's row locked (:func:`relais.calls.services.locked_call`): the
record and gather actions here (:mod:`.webhooks`), the recording-status callback and the
call's end in :mod:`relais.calls.services`, which tell this module through
:mod:`relais.calls.signals` (receivers connected in :class:`.apps.VoicemailConfig`).
"""

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from relais.calls.models import Call
from relais.calls.services import Conflict, expect_message, locked_call
from relais.calls.signals import STARTED

from . import consent, pipeline
from .models import PipelineStep, Voicemail

logger = logging.getLogger(__name__)

# Messages still waiting for their recording this long after the call are given up.
RECORDING_GRACE = timedelta(hours=1)


def _voicemail_for(call: Call) -> Voicemail:
    expect_message(call)
    voicemail, _ = Voicemail.objects.get_or_create(
        call=call,
        defaults={"listing_id": call.listing_id, "caller_e164": call.caller_e164,
                  "status": Voicemail.Status.RECORDING},
    )
    return voicemail


def recording_finished(call_sid: str, digits: str) -> Voicemail:
    """The record action: the message exists; a hang-up makes its consent private."""
    with transaction.atomic():
        call = locked_call(call_sid)
        voicemail = _voicemail_for(call)
        if digits == "hangup":
            consent.record(voicemail.pk, consent.PRIVATE)
    voicemail.refresh_from_db()
    return voicemail


def consent_given(call_sid: str, digits: str) -> Voicemail:
    """The gather action: the caller's answer (or silence) makes the consent final."""
    with transaction.atomic():
        call = locked_call(call_sid)
        voicemail = _voicemail_for(call)
        consent.record(voicemail.pk, consent.from_digits(digits))
    voicemail.refresh_from_db()
    return voicemail


def recording_ready(sender, *, call: Call, status: str, recording_sid: str, url: str,
                    duration: int | None, error_code: str = "", **kwargs) -> str:
    """Receiver of :data:`relais.calls.signals.recording_ready`: the recording is the
    message's (processing starts), or absent, or failed. Returns what it did."""
    voicemail = _voicemail_for(call)
    if voicemail.recording_sid and voicemail.recording_sid != recording_sid:
        raise Conflict("this call already has another recording")
    if status == "in-progress":
        return "ignored"
    started = PipelineStep.objects.filter(voicemail=voicemail).exists()
    if started or voicemail.status == Voicemail.Status.ERASED:
        return "duplicate"
    vm = Voicemail.objects.filter(pk=voicemail.pk)
    if status == "completed":
        try:
            with transaction.atomic():
                vm.update(recording_sid=recording_sid, recording_url=url,
                          recording_duration=duration, status=Voicemail.Status.RECEIVED,
                          status_detail="")
        except IntegrityError as exc:  # the SID is unique: another call's recording
            raise Conflict("this recording belongs to another call") from exc
        voicemail.refresh_from_db()
        pipeline.start(voicemail)  # enqueued on commit, once the call is logged as voicemail
        logger.info("call %s: recording %s received, processing", call.call_sid, recording_sid)
        return STARTED
    if voicemail.status != Voicemail.Status.RECORDING or voicemail.recording_sid:
        return "duplicate"
    if status == "absent":
        detail = "Aucun son enregistré (le fournisseur signale un enregistrement absent)."
        new_status = Voicemail.Status.REJECTED
    else:
        detail = "Le fournisseur n'a pas pu enregistrer le message"
        detail += f" (code d'erreur {error_code})." if error_code else "."
        new_status = Voicemail.Status.FAILED
    vm.update(recording_sid=recording_sid, recording_url=url,
              recording_duration=duration, status=new_status, status_detail=detail)
    logger.warning("call %s: recording %s %s", call.call_sid, recording_sid, status)
    return status


def call_ended(sender, *, call: Call, now, **kwargs) -> None:
    """Receiver of :data:`relais.calls.signals.call_ended`: the call is over, so a consent
    the caller never gave is private."""
    voicemail = Voicemail.objects.filter(call=call).first()
    if voicemail is not None:
        consent.record(voicemail.pk, consent.PRIVATE, now)


def settle_stale(now=None) -> int:
    """Periodic job: messages whose recording never arrived get an explicit status.

    Their consent is settled too (private), as is any consent left open by lost callbacks.
    """
    now = now or timezone.now()
    stale = Voicemail.objects.filter(
        status=Voicemail.Status.RECORDING, created_at__lt=now - RECORDING_GRACE
    )
    count = stale.update(
        status=Voicemail.Status.FAILED,
        status_detail="Aucun enregistrement reçu du fournisseur (rappel d'état perdu ?).",
    )
    open_consents = Voicemail.objects.filter(
        consent_recorded_at__isnull=True, created_at__lt=now - RECORDING_GRACE
    ).values_list("pk", flat=True)
    for pk in open_consents[:1000]:
        with transaction.atomic():  # wakes a route step waiting for it, on commit
            consent.record(pk, consent.PRIVATE, now)
    return count
