"""The local provider's outbound calls: plays both legs of a call-back against Relais'
real webhooks, signed as Twilio signs them (the transports of :mod:`.phone`).

Twilio, asked ``calls.create(to=PRO, from_=TRACKING, url=…, status_callback=…)``, rings
the professional; when they answer it requests ``url`` and runs its TwiML: the whisper,
a ``<Gather>`` (the professional presses 1; an answering machine presses nothing and the
call ends), then ``<Dial callerId=TRACKING><Number url=WHISPER>CALLER</Number></Dial>``. The
caller's phone rings; answered, the whisper document (``<Gather>``: 1 connects, 9 refuses,
nothing hangs up) is run on the caller's leg, then the two are bridged; the <Dial> action
gets ``DialCallStatus`` and ``DialCallDuration``; the status callback ends the
professional's leg. This module does exactly that, with the outcome chosen for each leg.
"""

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from email.utils import formatdate

from django.conf import settings

from relais.calls.providers import OutboundCall

from .phone import API_VERSION, InProcess, PhoneError, new_sid

# "answers": picks up and presses 1 after the whisper; "voicemail": an answering machine
# picks up and presses nothing; "refuses" (the caller): presses 9.
PRO_OUTCOMES = ("answers", "no-answer", "busy", "voicemail")
CALLER_OUTCOMES = ("answers", "no-answer", "busy", "refuses", "voicemail")


@dataclass
class CallbackResult:
    pro_call_sid: str
    pro_leg: dict
    caller_leg: dict = field(default_factory=dict)
    connected: bool = False
    seconds: int = 0
    pro_heard: list[str] = field(default_factory=list)
    caller_heard: list[str] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class _Legs:
    def __init__(self, transport, call: OutboundCall, call_sid: str):
        self.t = transport
        self.call = call
        self.result = CallbackResult(call_sid, {"to": call.to, "caller_id": call.from_})

    def base(self, status: str) -> dict:
        return {"AccountSid": settings.TWILIO_ACCOUNT_SID, "ApiVersion": API_VERSION,
                "CallSid": self.result.pro_call_sid, "CallStatus": status,
                "Direction": "outbound-api", "From": self.call.from_, "To": self.call.to}

    def post(self, url: str, params: dict, twiml: bool = True) -> ET.Element | None:
        status, body = self.t.post(url, params)
        self.result.requests.append({"url": url, "status": status})
        if status >= 300 or (twiml and status != 200):
            self.result.errors.append(f"{url}: HTTP {status}")
            return None
        if not twiml:
            return None
        try:
            root = ET.fromstring(body)  # noqa: S314 - our own server's answer
        except ET.ParseError as exc:
            raise PhoneError(f"{url} did not answer TwiML: {exc}") from exc
        return root

    @staticmethod
    def says(doc: ET.Element) -> list[str]:
        return [(v.text or "").strip() for v in doc.iter("Say")]

    def end(self, status: str, duration: int) -> None:
        final = self.base(status)
        final.update(CallDuration=str(duration), Timestamp=formatdate(usegmt=True))
        self.post(self.call.status_callback, final, twiml=False)

    def run(self, pro: str, caller: str, seconds: int) -> CallbackResult:
        if pro not in ("answers", "voicemail"):
            self.end("busy" if pro == "busy" else "no-answer", 0)
            return self.result
        doc = self.post(self.call.url, self.base("in-progress"))
        gather = doc.find("Gather") if doc is not None else None
        if gather is not None:  # the whisper: 1 to call the person
            self.result.pro_heard += self.says(gather)
            if pro == "answers":
                doc = self.post(gather.get("action"), {**self.base("in-progress"),
                                                       "Digits": "1"})
            else:  # an answering machine presses nothing: the rest of the document
                doc.remove(gather)
        dial = doc.find("Dial") if doc is not None else None
        if doc is not None:
            self.result.pro_heard += [s for v in doc if v.tag == "Say"
                                      for s in [(v.text or "").strip()]]
        if dial is None:
            self.end("completed", 5)
            return self.result
        number = dial.find("Number")
        to = (number.text or "").strip() if number is not None else (dial.text or "").strip()
        self.result.caller_leg = {"to": to, "caller_id": dial.get("callerId", "")}
        child = new_sid("CA")
        status, duration = {"answers": ("completed", seconds), "refuses": ("completed", seconds),
                            "voicemail": ("completed", seconds),
                            "busy": ("busy", 0)}.get(caller, ("no-answer", 0))
        refused = False
        if caller in ("answers", "refuses", "voicemail") and number is not None \
                and number.get("url"):
            params = {**self.base("in-progress"), "CallSid": child,
                      "ParentCallSid": self.result.pro_call_sid, "Direction": "outbound-dial",
                      "From": dial.get("callerId", ""), "To": to}
            whisper = self.post(number.get("url"), params)
            if whisper is not None:
                gather = whisper.find("Gather")
                pressed = gather is not None and caller != "voicemail"
                self.result.caller_heard += self.says(gather if pressed else whisper)
                if gather is None:
                    refused = whisper.find("Hangup") is not None
                elif caller == "voicemail":  # presses nothing: what follows the <Gather>
                    refused = whisper.find("Hangup") is not None
                else:
                    key = "9" if caller == "refuses" else "1"
                    nxt = self.post(gather.get("action"), {**params, "Digits": key})
                    if nxt is not None:
                        self.result.caller_heard += self.says(nxt)
                    refused = nxt is None or nxt.find("Hangup") is not None
            else:
                refused = True  # an error in the whisper: Twilio does not connect
        self.result.connected = status == "completed" and not refused
        self.result.seconds = duration if self.result.connected else 0
        params = {**self.base("in-progress"), "DialCallSid": child,
                  "DialCallStatus": status, "DialCallDuration": str(duration),
                  "DialBridged": "true" if self.result.connected else "false"}
        after = self.post(dial.get("action"), params) if dial.get("action") else None
        if after is not None:
            self.result.pro_heard += self.says(after)
        self.end("completed", duration + 10)
        return self.result


def play(transport, call: OutboundCall, call_sid: str, *, pro: str = "answers",
         caller: str = "answers", seconds: int = 45) -> CallbackResult:
    """Play both legs of one outbound call placed by Relais; returns what happened."""
    if pro not in PRO_OUTCOMES or caller not in CALLER_OUTCOMES:
        raise ValueError("unknown outcome")
    return _Legs(transport, call, call_sid).run(pro, caller, seconds)


# What the local provider plays when a professional clicks "Rappeler via Relais" on a
# demo site: both answer, a conversation long enough to count.
DEMO_OUTCOME = {"pro": "answers", "caller": "answers", "seconds": 45}


def dial_in_process(call: OutboundCall, call_sid: str) -> None:
    """The local provider's dialer (registered by the demo app): plays the call now,
    in this process, through Django's full request stack."""
    play(InProcess(), call, call_sid, **DEMO_OUTCOME)
