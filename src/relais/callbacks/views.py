"""The call-back's webhooks, signed like every provider webhook (:mod:`relais.calls.security`).

``/telephony/twilio/callback/<id>/pro`` (the professional's phone answered: whisper and
<Gather>), ``…/pro_key`` (they pressed 1: dial the caller), ``…/caller`` (the
caller's whisper, ``<Number url>``), ``…/key`` (the whisper's <Gather>), ``…/dial`` (the
<Dial> action: the bridge ended) and ``…/status`` (the professional's leg ended).
"""

import logging

from django.http import HttpResponse

from relais.calls import security
from relais.calls.security import twilio_webhook
from relais.calls.twiml import xml

from . import services, twiml

logger = logging.getLogger(__name__)


def known(view):
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except services.UnknownCallback:
            logger.warning("call-back webhook %s for an unknown call", request.path)
            return HttpResponse("unknown call", status=404, content_type="text/plain")

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@twilio_webhook
@known
def pro(request, callback_id):
    call_sid = security.sid(request.POST, "CallSid")
    cb, bridge = services.pro_picked_up(callback_id, call_sid)
    if not bridge.allowed:
        return xml(twiml.goodbye("stopped"))
    return xml(twiml.whisper_pro(bridge.metier, bridge.day,
                                 services.webhook_url("pro_key", cb)))


@twilio_webhook
@known
def pro_key(request, callback_id):
    call_sid = security.sid(request.POST, "CallSid")
    digits = security.digits(request.POST)
    if not digits.startswith(twiml.CONNECT_KEY):
        return xml(twiml.goodbye("pro_no_key"))
    cb, bridge = services.pro_answered(callback_id, call_sid)
    if not bridge.allowed:
        return xml(twiml.goodbye("stopped_cap" if cb.error == "cap" else "stopped"))
    return xml(twiml.bridge(bridge.caller_e164, bridge.caller_id,
                            action=services.webhook_url("dial", cb),
                            whisper_url=services.webhook_url("caller", cb)))


@twilio_webhook
@known
def caller(request, callback_id):
    parent = security.sid(request.POST, "ParentCallSid")
    security.sid(request.POST, "CallSid")
    cb, bridge = services.caller_whisper(callback_id, parent)
    if not bridge.allowed:
        return xml(twiml.goodbye("ended"))
    return xml(twiml.whisper_caller(bridge.name, bridge.day,
                                    services.webhook_url("key", cb)))


@twilio_webhook
@known
def key(request, callback_id):
    parent = security.sid(request.POST, "ParentCallSid")
    digits = security.digits(request.POST)
    if digits.startswith(twiml.REFUSE_KEY):
        services.caller_refused(callback_id, parent)
        return xml(twiml.goodbye("caller_refused"))
    if not digits.startswith(twiml.CONNECT_KEY):
        services.caller_whisper(callback_id, parent)  # the call-back exists
        return xml(twiml.goodbye("caller_no_key"))
    services.caller_accepted(callback_id, parent)
    return xml(twiml.empty())  # the bridge starts


@twilio_webhook
@known
def dial(request, callback_id):
    p = request.POST
    call_sid = security.sid(p, "CallSid")
    status = security.choice(p, "DialCallStatus", security.DIAL_STATUSES)
    seconds = security.seconds(p, "DialCallDuration", required=False)
    bridged = security.choice(p, "DialBridged", {"true", "false"}, required=False)
    cb = services.bridge_ended(callback_id, call_sid, status, seconds,
                               bridged={"true": True, "false": False}.get(bridged))
    if cb.status == cb.Status.REFUSED:
        return xml(twiml.goodbye("refused_by_caller"))
    if cb.status in (cb.Status.COMPLETED, cb.Status.TOO_SHORT):
        return xml(twiml.goodbye("ended"))
    return xml(twiml.goodbye("not_connected"))


@twilio_webhook
@known
def status(request, callback_id):
    p = request.POST
    call_sid = security.sid(p, "CallSid")
    call_status = security.choice(p, "CallStatus", security.CALL_STATUSES)
    security.seconds(p, "CallDuration", required=False)
    services.pro_leg_ended(callback_id, call_sid, call_status)
    return HttpResponse(status=204)
