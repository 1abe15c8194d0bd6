"""Telephony views: the provider's webhooks (TwiML) and prompts.

Webhooks are thin: :mod:`.security` checks the signature and parameters, :mod:`.services`
changes the state, :mod:`.twiml` builds the answer. The message's own webhooks (the
record and gather actions) are the voicemail app's (:mod:`relais.voicemail.webhooks`).
"""

import logging

from django.http import FileResponse, Http404, HttpResponse

from . import providers, security, services, twiml
from .models import Prompt
from .security import twilio_webhook

logger = logging.getLogger(__name__)


def _no_content() -> HttpResponse:
    return HttpResponse(status=204)


def call_errors(view):
    """UnknownCall → 404, Conflict → 409; nothing has changed in either case."""

    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except services.UnknownCall:
            logger.warning("telephony webhook %s for an unknown call", request.path)
            return HttpResponse("unknown call", status=404, content_type="text/plain")
        except services.Conflict as exc:
            logger.warning("telephony webhook %s: %s", request.path, exc)
            return HttpResponse(str(exc), status=409, content_type="text/plain")

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@twilio_webhook
def voice(request):
    """Incoming call on a tracking number: ring the professional, or refuse politely."""
    p = request.POST
    call_sid = security.sid(p, "CallSid")
    caller = security.caller(p, "From")
    to = security.called(p, "To")
    incoming = services.incoming_call(call_sid, caller, to)
    if not incoming.decision.accept:
        return twiml.xml(twiml.refuse(incoming.decision.prompt))
    if incoming.closed_hours:
        return twiml.xml(twiml.record_message(closed_hours=incoming.closed_hours))
    if incoming.decision.voicemail:
        return twiml.xml(twiml.record_message(unclaimed=incoming.call.listing_id is None))
    return twiml.xml(twiml.forward(incoming.forward_to, caller))


@twilio_webhook
@call_errors
def dial(request):
    """The <Dial> action: answered → done; otherwise the caller may leave a message."""
    p = request.POST
    call_sid = security.sid(p, "CallSid")
    status = security.choice(p, "DialCallStatus", security.DIAL_STATUSES)
    duration = security.seconds(p, "DialCallDuration", required=False)
    if services.dial_finished(call_sid, status, duration):
        return twiml.xml(twiml.hangup())
    return twiml.xml(twiml.record_message())


@twilio_webhook
@call_errors
def recording_status(request):
    """recordingStatusCallback: the recording is ready (or absent, or failed)."""
    p = request.POST
    call_sid = security.sid(p, "CallSid")
    recording_sid = security.sid(p, "RecordingSid", security.RECORDING_SID)
    status = security.choice(p, "RecordingStatus", security.RECORDING_STATUSES)
    completed = status == "completed"
    url = security.recording_url(p) if completed else p.get("RecordingUrl", "")[:500]
    if url and not completed and not providers.recording_url_allowed(url):
        url = ""
    duration = security.seconds(p, "RecordingDuration", required=completed)
    error_code = p.get("ErrorCode", "")
    if error_code and not error_code.isdigit():
        raise security.BadRequest("ErrorCode is not numeric")
    services.recording_status(call_sid, recording_sid, status, url, duration, error_code)
    return _no_content()


@twilio_webhook
@call_errors
def status(request):
    """The call's status callback (configured on the number): the call is over."""
    p = request.POST
    call_sid = security.sid(p, "CallSid")
    call_status = security.choice(p, "CallStatus", security.CALL_STATUSES)
    security.seconds(p, "CallDuration", required=False)
    services.call_ended(call_sid, call_status)
    return _no_content()


def prompt_audio(request, key: str):
    """An operator's recorded prompt. Public on purpose: the provider fetches it to play
    it, and prompts are announcements, not personal data."""
    prompt = Prompt.objects.filter(key=key, active=True).exclude(audio="").first()
    if prompt is None:
        raise Http404
    response = FileResponse(prompt.audio.open("rb"))
    response["Cache-Control"] = "public, max-age=3600"
    return response
