"""What each provider callback changes in the call log, in one transaction per callback.

Every function takes validated parameters and locks the call's row (``select_for_update``
on PostgreSQL; SQLite serialises writers), so callbacks for one call apply one at a time
whatever order they arrive in. The message left on a missed call is the voicemail app's
(:mod:`relais.voicemail.callbacks`): it learns of the recording and of the call's end
through :mod:`.signals`, sent inside these transactions, and uses :func:`locked_call` and
:func:`expect_message` for its own callbacks (the record and gather actions).
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from relais.core import phones
from relais.directory import pool
from relais.pros import hours
from relais.pros.models import Listing

from . import numbers, signals
from .models import BlockedCaller, Call, TrackingNumber
from .policy import ACCEPT, Decision, decide_incoming, over_rate_limit, rate_key

logger = logging.getLogger(__name__)

Outcome = Call.Outcome
CALLER_HUNG_UP = "caller_hung_up"
AFTER_HOURS = "after_hours"  # Call.reason of a call outside the listing's opening hours
FINAL_CALL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
ANSWERED_DIAL_STATUSES = {"completed", "answered"}

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
    # Outside the listing's opening hours: no forward, the hours are announced (said in
    # French, relais.pros.hours.describe) and the caller goes straight to the voicemail.
    closed_hours: str = ""


def locked_call(call_sid: str) -> Call:
    """The call's row, locked until the end of the transaction; UnknownCall if none."""
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
        siret = listing.establishment_id if listing else ""
        via_pool = False
        if number is None:
            # A number of the pool: the listing it was bound to when the call came in.
            siret = pool.resolve(to, call.started_at, touch=False) or ""
            via_pool = bool(siret)
            if via_pool:
                # Only a claimed listing rings (and holds the message); an unclaimed
                # one's message has no owner: it may only be shared, with consent.
                listing = Listing.objects.filter(
                    establishment_id=siret, status=Listing.Status.APPROVED).first()
        forward = _dialable(listing.forward_number) if listing else ""
        blocked = bool(caller) and BlockedCaller.objects.filter(e164=caller).exists()
        limited = not blocked and over_rate_limit(rate_key(caller, to))
        decision = decide_incoming(
            number_known=number is not None or via_pool,
            assigned=listing is not None or via_pool,
            claimed=bool(listing and listing.claimed),
            forward=forward,
            blocked=blocked,
            rate_limited=limited,
            via_pool=via_pool,
        )
        if via_pool and decision.accept:  # only an accepted call holds the number
            pool.touch(to, call.started_at)
        closed = (decision.accept and listing is not None
                  and not hours.is_open(listing.opening_hours))
        call.tracking_number = number
        call.listing = listing
        call.establishment_siret = siret
        call.via_pool = via_pool
        # Who holds the listing now (approved claim): the only professional who will see
        # this call, even if the listing changes hands later (relais.calls.access).
        call.professional_id = listing.holder_id if listing else None
        if not decision.accept:
            call.outcome = Outcome.REJECTED
            call.reason = decision.reason
            call.ended_at = timezone.now()
        elif closed:  # nobody is rung: the call is missed from the start
            call.outcome = Outcome.MISSED
            call.reason = AFTER_HOURS
        elif decision.voicemail:  # nobody to ring: the message is taken at once
            call.outcome = Outcome.MISSED
            call.reason = decision.reason
        call.save(update_fields=["tracking_number", "listing", "professional", "outcome",
                                 "reason", "ended_at", "establishment_siret", "via_pool"])
    if closed:
        logger.info("call %s to %s: outside opening hours, straight to the voicemail",
                    call_sid, to)
        return Incoming(call, decision, "", hours.describe(listing.opening_hours) or "-")
    if decision.accept and decision.voicemail:
        logger.info("call %s to %s: straight to the voicemail (%s)", call_sid, to,
                    decision.reason)
        return Incoming(call, decision)
    if decision.accept:
        logger.info("call %s to %s: forwarded", call_sid, to)
        return Incoming(call, decision, forward)
    logger.info("call %s to %s: refused (%s)", call_sid, to, decision.reason)
    return Incoming(call, decision)


def _replay(call: Call) -> Incoming:
    if call.outcome == Outcome.REJECTED:
        return Incoming(call, Decision(False, call.reason,
                                       REASON_PROMPTS.get(call.reason, "unavailable")))
    if call.reason == AFTER_HOURS and call.listing is not None:
        return Incoming(call, ACCEPT, "", hours.describe(call.listing.opening_hours) or "-")
    if call.via_pool and call.reason in ("unclaimed", "no_forward_number"):
        return Incoming(call, Decision(True, call.reason, voicemail=True))
    forward = _dialable(call.listing.forward_number) if call.listing else ""
    if not forward:
        return Incoming(call, Decision(False, "no_forward_number", "unavailable"))
    return Incoming(call, ACCEPT, forward)


def _dialable(number: str) -> str:
    """The professional's forward number, E.164, or "" if it is not a usable number.

    A tracking number is not (calls forwarded to it would come back here, in a loop):
    the settings refuse one, this also covers numbers saved before they did.
    """
    try:
        e164 = phones.to_e164(number) if number else ""
    except phones.NumberError:
        return ""
    return "" if e164 and numbers.is_tracking_number(e164) else e164


def dial_finished(call_sid: str, dial_status: str, duration: int | None) -> bool:
    """The forwarded leg ended. True when the professional answered."""
    with transaction.atomic():
        call = locked_call(call_sid)
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


def expect_message(call: Call) -> None:
    """A callback about the caller's message: Conflict unless the call may have one."""
    if call.outcome == Outcome.RINGING and call.listing_id is not None:
        # A message's callbacks exist only once the forwarded leg went unanswered: its
        # dial action is late (retried by the provider, or racing this request).
        call.outcome = Outcome.MISSED
        call.save(update_fields=["outcome"])
    if call.outcome not in (Outcome.MISSED, Outcome.VOICEMAIL):
        raise Conflict("no message is expected on this call")


def recording_status(call_sid: str, recording_sid: str, status: str, url: str,
                     duration: int | None, error_code: str = "") -> str:
    """The provider's recording-status callback. Returns what was done (for the log)."""
    with transaction.atomic():
        call = locked_call(call_sid)
        answers = signals.recording_ready.send(
            sender=Call, call=call, status=status, recording_sid=recording_sid, url=url,
            duration=duration, error_code=error_code,
        )
        done = [answer for _receiver, answer in answers if answer]
        if signals.STARTED in done:
            Call.objects.filter(pk=call.pk).update(outcome=Outcome.VOICEMAIL)
        return done[0] if done else "ignored"


def call_ended(call_sid: str, call_status: str) -> None:
    """The call's final status: close the log entry, and say so (signals.call_ended)."""
    if call_status not in FINAL_CALL_STATUSES:
        with transaction.atomic():
            locked_call(call_sid)  # 404 for unknown calls, nothing else to do
        return
    now = timezone.now()
    with transaction.atomic():
        call = locked_call(call_sid)
        fields = []
        if call.ended_at is None:
            call.ended_at = now
            fields.append("ended_at")
        if call.outcome == Outcome.RINGING:
            call.outcome = Outcome.MISSED
            call.reason = CALLER_HUNG_UP
            fields += ["outcome", "reason"]
        if fields:
            call.save(update_fields=fields)
        signals.call_ended.send(sender=Call, call=call, now=now)
