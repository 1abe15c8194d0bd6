"""What each provider callback changes, in one transaction per callback.

Every function takes validated parameters and locks the call's row (``select_for_update``
on PostgreSQL; SQLite serialises writers), so callbacks for one call apply one at a time
whatever order they arrive in. The message is created by whichever of the record action,
the recording-status callback or the gather action arrives first (``get_or_create`` on the
call, a one-to-one; the recording SID is unique too): duplicates create nothing, and
out-of-order callbacks converge to the same state.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from relais.voicemail import consent, pipeline
from relais.voicemail.models import PipelineStep, Voicemail

from . import numbers
from .models import BlockedCaller, Call, TrackingNumber
from .policy import ACCEPT, Decision, decide_incoming, over_rate_limit, rate_key

logger = logging.getLogger(__name__)

Outcome = Call.Outcome
FINAL_CALL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
ANSWERED_DIAL_STATUSES = {"completed", "answered"}
# Messages still waiting for their recording this long after the call are given up.
RECORDING_GRACE = timedelta(hours=1)

REASON_PROMPTS = {
    "blocked": "blocked",
    "rate_limited": "rate_limited",
    "unknown_number": "unknown_number",
}


class UnknownCall(LookupError):
    """A callback for a CallSid Relais never saw: 404, no side effect."""


class Conflict(Exception):
    """A callback that does not fit the call's state (e.g. a recording for an answered
    call, or a second recording): 409, no side effect."""


@dataclass(frozen=True)
class Incoming:
    call: Call
    decision: Decision
    forward_to: str = ""


def _locked_call(call_sid: str) -> Call:
    call = Call.objects.select_for_update().filter(call_sid=call_sid).first()
    if call is None:
        raise UnknownCall(call_sid)
    return call


def incoming_call(call_sid: str, caller: str, to: str) -> Incoming:
    """A new call on a tracking number: log it and decide whether to put it through."""
    with transaction.atomic():
        call, created = Call.objects.get_or_create(
            call_sid=call_sid, defaults={"to_e164": to, "caller_e164": caller}
        )
        if not created:  # the provider retried the request: the same answer again
            return _replay(call)
        number = TrackingNumber.objects.select_related("listing").filter(
            e164=to, released_at__isnull=True
        ).first()
        listing = number.listing if number else None
        forward = _dialable(listing.forward_number) if listing else ""
        blocked = bool(caller) and BlockedCaller.objects.filter(e164=caller).exists()
        limited = not blocked and over_rate_limit(rate_key(caller, to))
        decision = decide_incoming(
            number_known=number is not None,
            assigned=listing is not None,
            claimed=bool(listing and listing.claimed),
            forward=forward,
            blocked=blocked,
            rate_limited=limited,
        )
        call.tracking_number = number
        call.listing = listing
        if not decision.accept:
            call.outcome = Outcome.REJECTED
            call.reason = decision.reason
            call.ended_at = timezone.now()
        call.save(update_fields=["tracking_number", "listing", "outcome", "reason", "ended_at"])
    if decision.accept:
        logger.info("call %s to %s: forwarded", call_sid, to)
        return Incoming(call, decision, forward)
    logger.info("call %s to %s: refused (%s)", call_sid, to, decision.reason)
    return Incoming(call, decision)


def _replay(call: Call) -> Incoming:
    if call.outcome == Outcome.REJECTED:
        return Incoming(call, Decision(False, call.reason,
                                       REASON_PROMPTS.get(call.reason, "unavailable")))
    forward = _dialable(call.listing.forward_number) if call.listing else ""
    if not forward:
        return Incoming(call, Decision(False, "no_forward_number", "unavailable"))
    return Incoming(call, ACCEPT, forward)


def _dialable(number: str) -> str:
    """The professional's forward number, E.164, or "" if it is not a usable number."""
    try:
        return numbers.to_e164(number) if number else ""
    except numbers.NumberError:
        return ""


def dial_finished(call_sid: str, dial_status: str, duration: int | None) -> bool:
    """The forwarded leg ended. True when the professional answered."""
    with transaction.atomic():
        call = _locked_call(call_sid)
        if call.outcome == Outcome.REJECTED or call.listing_id is None:
            raise Conflict("this call was not forwarded")
        answered = dial_status in ANSWERED_DIAL_STATUSES
        if call.outcome == Outcome.RINGING:
            call.outcome = Outcome.ANSWERED if answered else Outcome.MISSED
            call.dial_status = dial_status
            call.dial_duration = duration
            call.reason = "" if answered else dial_status
            call.save(update_fields=["outcome", "dial_status", "dial_duration", "reason"])
        elif not call.dial_status and call.outcome in (Outcome.MISSED, Outcome.VOICEMAIL):
            # Late, after the message's own callbacks: keep what it says about the leg.
            call.dial_status, call.dial_duration = dial_status, duration
            call.reason = call.reason or dial_status
            call.save(update_fields=["dial_status", "dial_duration", "reason"])
        return call.outcome == Outcome.ANSWERED


def _voicemail_for(call: Call) -> Voicemail:
    if call.outcome == Outcome.RINGING and call.listing_id is not None:
        # A message's callbacks exist only once the forwarded leg went unanswered: its
        # dial action is late (retried by the provider, or racing this request).
        call.outcome = Outcome.MISSED
        call.save(update_fields=["outcome"])
    if call.outcome not in (Outcome.MISSED, Outcome.VOICEMAIL):
        raise Conflict("no message is expected on this call")
    voicemail, _ = Voicemail.objects.get_or_create(
        call=call,
        defaults={"listing_id": call.listing_id, "caller_e164": call.caller_e164,
                  "status": Voicemail.Status.RECORDING},
    )
    return voicemail


def recording_finished(call_sid: str, digits: str) -> Voicemail:
    """The record action: the message exists; a hang-up makes its consent private."""
    with transaction.atomic():
        call = _locked_call(call_sid)
        voicemail = _voicemail_for(call)
        if digits == "hangup":
            consent.record(voicemail.pk, consent.PRIVATE)
    voicemail.refresh_from_db()
    return voicemail


def consent_given(call_sid: str, digits: str) -> Voicemail:
    """The gather action: the caller's answer (or silence) makes the consent final."""
    with transaction.atomic():
        call = _locked_call(call_sid)
        voicemail = _voicemail_for(call)
        consent.record(voicemail.pk, consent.from_digits(digits))
    voicemail.refresh_from_db()
    return voicemail


def recording_status(call_sid: str, recording_sid: str, status: str, url: str,
                     duration: int | None, error_code: str = "") -> str:
    """The provider's recording-status callback. Returns what it did (for the log)."""
    with transaction.atomic():
        call = _locked_call(call_sid)
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
            Call.objects.filter(pk=call.pk).update(outcome=Outcome.VOICEMAIL)
            voicemail.refresh_from_db()
            pipeline.start(voicemail)
            logger.info("call %s: recording %s received, processing", call_sid, recording_sid)
            return "started"
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
        logger.warning("call %s: recording %s %s", call_sid, recording_sid, status)
        return status


def call_ended(call_sid: str, call_status: str) -> None:
    """The call's final status: close the log entry; unanswered consent becomes private."""
    if call_status not in FINAL_CALL_STATUSES:
        with transaction.atomic():
            _locked_call(call_sid)  # 404 for unknown calls, nothing else to do
        return
    now = timezone.now()
    with transaction.atomic():
        call = _locked_call(call_sid)
        fields = []
        if call.ended_at is None:
            call.ended_at = now
            fields.append("ended_at")
        if call.outcome == Outcome.RINGING:
            call.outcome = Outcome.MISSED
            call.reason = "caller_hung_up"
            fields += ["outcome", "reason"]
        if fields:
            call.save(update_fields=fields)
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
    Voicemail.objects.filter(
        consent_recorded_at__isnull=True, created_at__lt=now - RECORDING_GRACE
    ).update(consent=consent.PRIVATE, consent_recorded_at=now)
    return count
