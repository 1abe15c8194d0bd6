"""The message's webhooks: the provider's <Record> and <Gather> actions (TwiML).

Thin, like the call's own webhooks (:mod:`relais.calls.views`): :mod:`relais.calls.security`
checks the signature and parameters, :mod:`.callbacks` changes the message,
:mod:`relais.calls.twiml` builds the answer. Mounted at ``/telephony/twilio/record`` and
``/telephony/twilio/gather`` (:mod:`.webhook_urls`).
"""

from relais.calls import security, twiml
from relais.calls.security import twilio_webhook
from relais.calls.views import call_errors

from . import callbacks


@twilio_webhook
@call_errors
def record(request):
    """The <Record> action: ask for consent (or nothing more if the caller hung up)."""
    p = request.POST
    call_sid = security.sid(p, "CallSid")
    digits = security.digits(p, "Digits")
    security.sid(p, "RecordingSid", security.RECORDING_SID, required=False)
    security.seconds(p, "RecordingDuration", required=False)
    voicemail = callbacks.recording_finished(call_sid, digits)
    if digits == "hangup":
        return twiml.xml(twiml.hangup())
    return twiml.xml(twiml.ask_consent(unclaimed=voicemail.listing_id is None))


@twilio_webhook
@call_errors
def gather(request):
    """The <Gather> action (with or without Digits): record consent, read the reference."""
    p = request.POST
    call_sid = security.sid(p, "CallSid")
    digits = security.digits(p, "Digits")
    voicemail = callbacks.consent_given(call_sid, digits)
    return twiml.xml(twiml.goodbye(voicemail.consent, voicemail.reference,
                                   unclaimed=voicemail.listing_id is None))
