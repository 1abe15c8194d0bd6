"""Callers by SMS: the receipt, the missed-call text-back, requests written by SMS and
their consent ("répondez OUI"), STOP.

- :func:`call_ended` (receiver of :data:`relais.calls.signals.call_ended`, after the
  voicemail app's): a caller with a French mobile number who left a message gets the
  receipt (listing, reference, portal link); one who hung up without leaving one gets
  the invitation to write, from the tracking number they dialled. Never a withheld
  number, a landline or a number that answered STOP (the transport checks,
  :func:`relais.core.sms.send_sms`). Sent once the callback's transaction commits.
- :func:`inbound`: an inbound SMS on a tracking number (the signed webhook,
  :mod:`.views`). STOP/ARRET… stops every SMS to the number, START restarts them; a
  request becomes a :class:`~relais.voicemail.models.Voicemail` of channel ``sms`` whose
  transcript is the text, processed by the same pipeline (understanding, redaction,
  routing; fetch and transcription have nothing to do); its consent is asked by SMS and
  is ``share`` only on "OUI" — "NON", or no answer within
  ``RELAIS_SMS_CONSENT_WAIT_SECONDS``, leaves it private.
"""

import logging
import re
import tomllib
from datetime import timedelta
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from relais.calls.models import BlockedCaller, Call, TrackingNumber
from relais.calls.policy import over_rate_limit
from relais.core import phones, sms
from relais.directory.services import display_name
from relais.voicemail import consent, pipeline
from relais.voicemail.models import Voicemail

from .models import InboundSms, Thread

logger = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent / "data" / "texts.toml"
MAX_REQUEST_CHARS = 1600  # Twilio's own limit for one (concatenated) inbound SMS
YES = frozenset({"OUI", "O", "YES", "OK", "D'ACCORD", "DACCORD"})
NO = frozenset({"NON", "N", "NO"})


@cache
def catalogue() -> dict[str, dict[str, str]]:
    with DATA.open("rb") as f:
        return tomllib.load(f)


def text(key: str, **values: str) -> str:
    return catalogue()[key]["text"].format(**values)


def portal_url() -> str:
    """The caller portal (/appelant/): no identifier of a message in the URL."""
    return settings.RELAIS_PUBLIC_URL + reverse("privacy:start")


def listing_name(listing) -> str:
    if listing is None:
        return "ce professionnel"
    return display_name(listing.establishment)[:60]  # never the NAF label as a name


MAX_ANSWER_WORDS = 3  # « oui », « oui merci », « non merci bien »: longer is a request


def answer(word: str) -> str:
    """"yes" (OUI, « oui merci », OK…), "no" (NON…) or "" for anything else. Only a short
    text is an answer: « Non urgent, fuite sous l'évier » or « Oui bonjour, j'ai une
    fuite… » are new requests (nothing the caller writes is lost)."""
    words = [w for w in re.split(r"[^A-Z']+", word) if w] if word else []
    if not words or len(words) > MAX_ANSWER_WORDS:
        return ""
    first = words[0]
    if word in YES or first in YES:
        return "yes"
    if word in NO or first in NO:
        return "no"
    return ""


def send(to: str, body: str, sender: str = "") -> bool:
    """Send one SMS to a French mobile; False (logged) when it is not one or is refused."""
    if not phones.is_french_mobile(to):
        return False
    try:
        sms.send_sms(to, body, sender=sender)
    except sms.OptedOut:
        logger.info("sms: not sent, the number answered STOP")
        return False
    except sms.SMSError as exc:
        logger.warning("sms: not sent: %s", exc)
        return False
    return True


# --- After a call -----------------------------------------------------------------------

def call_ended(sender, *, call: Call, now, **kwargs) -> None:
    """Receiver of ``call_ended``: the receipt, or the invitation to write (once a call)."""
    after_call(call)


def recording_ready(sender, *, call: Call, **kwargs) -> None:
    """Receiver of ``recording_ready`` (after the voicemail app's): a recording reported
    after the call's end decides between the receipt and the invitation."""
    after_call(call)


def after_call(call: Call) -> None:
    """Once the call is over and what the caller left is known: the receipt (a message
    is being processed) or the invitation (nothing, or a recording without sound); nothing
    while the recording is still awaited, for a failed or erased one, or twice."""
    if (call.ended_at is None or call.listing_id is None or call.tracking_number_id is None
            or call.outcome not in (Call.Outcome.MISSED, Call.Outcome.VOICEMAIL)
            or not phones.is_french_mobile(call.caller_e164)):
        return
    voicemail = Voicemail.objects.filter(call=call).first()
    if voicemail is not None and voicemail.status == Voicemail.Status.RECORDING:
        return  # its recording callback decides
    if voicemail is not None and voicemail.status in (Voicemail.Status.FAILED,
                                                      Voicemail.Status.ERASED):
        return
    left_message = voicemail is not None and voicemail.status != Voicemail.Status.REJECTED
    _, created = Thread.objects.get_or_create(
        call=call, defaults={
            "caller_e164": call.caller_e164, "tracking_number_id": call.tracking_number_id,
            "listing_id": call.listing_id, "voicemail": voicemail if left_message else None,
            "state": Thread.State.CLOSED if left_message else Thread.State.INVITED})
    if not created:
        return  # the provider sent the final status again
    name = listing_name(call.listing)
    if left_message:
        body = text("receipt", listing=name, reference=voicemail.reference, portal=portal_url())
        sender_number = ""
    else:
        if not _first_invitation_today(call.caller_e164):
            return  # SMS pumping: one invitation per caller number a day
        body = text("invitation", listing=name)
        sender_number = call.to_e164  # the number they dialled: they recognise it
    to = call.caller_e164
    transaction.on_commit(lambda: send(to, body, sender_number))


INVITATION_EVERY_SECONDS = 24 * 3600
REPLIES_PER_REQUEST = 3  # "répondez OUI", the answer's confirmation, one refusal


def _first_invitation_today(caller: str) -> bool:
    """True once per caller number per INVITATION_EVERY_SECONDS (the shared cache): a
    spammer calling and hanging up cannot make Relais text a number again and again."""
    from django.core.cache import cache

    return cache.add(f"texts:invited:{caller}", 1, timeout=INVITATION_EVERY_SECONDS)


def may_reply(caller: str) -> bool:
    """A reply to an inbound SMS goes only to a French mobile, and at most
    REPLIES_PER_REQUEST × RELAIS_CALLER_RATE_LIMIT an hour to one number (SMS pumping)."""
    if not phones.is_french_mobile(caller):
        return False
    limit = settings.RELAIS_CALLER_RATE_LIMIT
    if limit <= 0:
        return True
    import time

    from django.core.cache import cache

    bucket = f"texts:replies:{caller}:{int(time.time() // 3600)}"
    cache.add(bucket, 0, timeout=3700)
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.set(bucket, 1, timeout=3700)
        count = 1
    return count <= limit * REPLIES_PER_REQUEST


# --- An inbound SMS ----------------------------------------------------------------------

def inbound(message_sid: str, caller: str, to: str, body: str) -> str:
    """Handle one inbound SMS; returns the reply to text back ("" for none)."""
    word = sms.keyword(body)
    with transaction.atomic():
        _, new = InboundSms.objects.get_or_create(message_sid=message_sid)
        if not new:
            return ""  # a provider retry: handled already
        if word in sms.STOP_WORDS:
            sms.opt_out(caller, word)
            return ""
        if word in sms.START_WORDS:
            sms.opt_in(caller)
            reply = text("restarted")
        else:
            reply = _converse(message_sid, caller, to, body, word)
    if not reply or sms.opted_out(caller) or not may_reply(caller):
        return ""
    return reply


def _converse(message_sid: str, caller: str, to: str, body: str, word: str) -> str:
    number = TrackingNumber.objects.select_related("listing__establishment").filter(
        e164=to, released_at__isnull=True).first()
    listing = number.listing if number else None
    if listing is None or not listing.claimed:
        return text("unknown_number")
    if BlockedCaller.objects.filter(e164=caller).exists():
        return ""  # blocked by the operator: nothing reaches anybody, no answer
    name = listing_name(listing)
    thread = (Thread.objects.select_for_update()
              .filter(caller_e164=caller, tracking_number=number, listing=listing)
              .order_by("-created_at").first())
    InboundSms.objects.filter(message_sid=message_sid).update(thread=thread)
    said = answer(word)
    if thread is not None and thread.state == Thread.State.CONSENT and thread.voicemail:
        vm = thread.voicemail
        thread.state = Thread.State.CLOSED
        thread.save(update_fields=["state", "updated_at"])
        if said:
            choice = consent.SHARE if said == "yes" else consent.PRIVATE
            if not consent.record(vm.pk, choice):  # too late: the window closed
                vm.refresh_from_db(fields=["consent"])
                if vm.consent != choice:
                    return text("consent_closed", reference=vm.reference)
            key = "consent_share" if choice == consent.SHARE else "consent_private"
            return text(key, reference=vm.reference, listing=name)
        # Not an answer: a new request (nothing the caller writes is lost); the one
        # left unanswered stays with the called professional only.
        consent.record(vm.pk, consent.PRIVATE)
    elif said:  # an answer to nothing: not a request
        return text("empty", listing=name)
    request = body.strip()[:MAX_REQUEST_CHARS]
    if not request:
        return text("empty", listing=name)
    # The callers' limit (RELAIS_CALLER_RATE_LIMIT an hour), counted apart from calls.
    if over_rate_limit(f"texts:rate:{caller}"):
        return text("rate_limited")
    vm = Voicemail.objects.create(
        channel=Voicemail.Channel.SMS, listing=listing, caller_e164=caller,
        transcript=request, language="fr", status=Voicemail.Status.RECEIVED)
    if thread is None or thread.state == Thread.State.CLOSED:
        thread = Thread.objects.create(caller_e164=caller, tracking_number=number,
                                       listing=listing)
    thread.voicemail, thread.state = vm, Thread.State.CONSENT
    thread.save(update_fields=["voicemail", "state", "updated_at"])
    InboundSms.objects.filter(message_sid=message_sid).update(thread=thread)
    pipeline.start(vm)  # enqueued on commit
    logger.info("sms %s: request %s for listing %s", message_sid, vm.reference, listing.pk)
    return text("received_ask_consent", reference=vm.reference, listing=name,
                portal=portal_url())


# --- Retention ---------------------------------------------------------------------------

THREAD_DAYS = 30  # a conversation is over long before; its caller number goes with it


def purge(now=None) -> int:
    """Periodic job: conversations (caller number, links) and inbound SMS SIDs older than
    THREAD_DAYS are deleted. STOP stays (``core.SmsOptOut``): it must be honoured."""
    cutoff = (now or timezone.now()) - timedelta(days=THREAD_DAYS)
    InboundSms.objects.filter(created_at__lt=cutoff).delete()
    return Thread.objects.filter(created_at__lt=cutoff).delete()[0]
