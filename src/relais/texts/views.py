"""The inbound SMS webhook (Twilio Messaging), signed and validated like the voice ones.

Thin: :mod:`relais.calls.security` checks the signature, the account and the numbers,
:mod:`.services` decides, and the answer is TwiML (``MessagingResponse``): the reply is
texted back by the provider from the number the caller wrote to.
"""

import re

from django.http import HttpResponse
from twilio.twiml.messaging_response import MessagingResponse

from relais.calls import security
from relais.calls.security import BadRequest, twilio_webhook
from relais.core import sms

from . import services

MESSAGE_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
MAX_BODY = 1600  # what Twilio delivers at most


@twilio_webhook
def inbound(request):
    """An SMS to a tracking number: STOP/START, a request, or the answer to "répondez OUI"."""
    p = request.POST
    message_sid = security.sid(p, "MessageSid", MESSAGE_SID)
    caller = security.caller(p, "From")
    if not caller:
        raise BadRequest("From is withheld")
    to = security.called(p, "To")
    body = p.get("Body", "")
    if len(body) > MAX_BODY:
        raise BadRequest("Body is longer than an SMS can be")
    reply = services.inbound(message_sid, caller, to, body)
    response = MessagingResponse()
    if reply and sms.segments(reply) <= sms.MAX_SEGMENTS:
        response.message(reply)
    return HttpResponse(str(response), content_type="text/xml; charset=utf-8")
