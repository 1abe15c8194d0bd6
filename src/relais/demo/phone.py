"""The local phone: plays the telephony provider's part against Relais' real webhooks.

A :class:`LocalPhone` places a call the way Twilio would: it sends the documented webhook
requests (``CallSid``, ``AccountSid``, ``From``, ``To``, ``CallStatus``, ``DialCallStatus``,
``RecordingUrl``, ``RecordingSid``, ``Digits``…), each signed with the account's auth
token exactly as Twilio signs them (``RequestValidator.compute_signature`` over the
requested URL and the parameters), and follows the TwiML it gets back:

- ``<Say>`` / ``<Play>``: what the caller hears (collected in ``heard``);
- ``<Dial>``: the professional answers, does not answer, or is busy, as chosen; then the
  dial action;
- ``<Record>``: the caller's audio becomes a recording held by the local provider
  (:mod:`.local_provider`), then the record action and the recording-status callback
  (sent before the record action, or after the call, to exercise both orders);
- ``<Gather>``: the caller presses the chosen key, or nothing;
- ``<Redirect>``, ``<Hangup>``; at the end, the call's status callback.

Two transports: :class:`InProcess` goes through Django's whole request stack in this
process (URL resolver, middleware, the real views with signature checks) using Django's
test client as a WSGI caller; :class:`OverHttp` talks to a running Relais (``--url``) and
uploads the audio to its local provider.
"""

import io
import json
import math
import re
import secrets
import wave
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.urls import reverse
from twilio.request_validator import RequestValidator

from relais.core import sms
from relais.core.models import OutboxMessage

from . import local_provider

API_VERSION = "2010-04-01"
OUTCOMES = {"answer": "completed", "no-answer": "no-answer", "busy": "busy"}
CONSENT_DIGITS = {"share": "1", "private": "2", "none": ""}
REFERENCE = re.compile(r"(\d(?:\s*,\s*\d){5,})")


class PhoneError(RuntimeError):
    """The provider side could not go on (bad TwiML, unreachable server…)."""


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def audio_seconds(data: bytes) -> int:
    """Whole seconds of audio (WAV read directly; other formats decoded with PyAV)."""
    seconds = 0.0
    try:
        with wave.open(io.BytesIO(data)) as w:
            seconds = w.getnframes() / float(w.getframerate() or 1)
    except (wave.Error, EOFError):
        try:
            import av

            with av.open(io.BytesIO(data)) as container:
                stream = container.streams.audio[0]
                samples = sum(frame.samples for frame in container.decode(stream))
                seconds = samples / float(stream.rate or 1)
        except Exception:  # not decodable: the pipeline's normalise step will say so
            seconds = 0.0
    return max(1, math.ceil(seconds)) if seconds > 0 else 0


def sign(url: str, params: dict) -> str:
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)


# --- Transports -------------------------------------------------------------------------

class InProcess:
    """Requests through Django's full stack in this process (no server needed)."""

    def __init__(self):
        from django.test import Client  # a WSGI caller; ClientHandler keeps DB connections

        self.public = settings.RELAIS_PUBLIC_URL
        parts = urlsplit(self.public)
        self.secure = parts.scheme == "https"
        extra = {"HTTP_X_FORWARDED_PROTO": "https"} if self.secure else {}
        self.client = Client(HTTP_HOST=parts.netloc, raise_request_exception=False, **extra)

    def url(self, name: str) -> str:
        return self.public + reverse(f"calls:{name}")

    def post(self, url: str, params: dict) -> tuple[int, str]:
        if not url.startswith(self.public + "/"):
            raise PhoneError(f"TwiML points outside this Relais: {url}")
        response = self.client.post(
            url[len(self.public):], params, secure=self.secure,
            headers={"X-Twilio-Signature": sign(url, params)},
        )
        return response.status_code, response.content.decode()

    def keep_recording(self, recording_sid: str, data: bytes, content_type: str,
                       filename: str) -> str:
        local_provider.store_recording(recording_sid, data, content_type, filename)
        return local_provider.recording_url(recording_sid)

    def url_of(self, name: str) -> str:
        """The public URL of any webhook, by its URL name (``texts:inbound``)."""
        return self.public + reverse(name)


class OverHttp:
    """Requests over HTTP to a running Relais (its RELAIS_PUBLIC_URL should be ``base``)."""

    def __init__(self, base: str, timeout: float = 30.0):
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def url(self, name: str) -> str:
        return self.base + reverse(f"calls:{name}")

    def post(self, url: str, params: dict) -> tuple[int, str]:
        try:
            response = self.session.post(
                url, data=params, headers={"X-Twilio-Signature": sign(url, params)},
                timeout=self.timeout, allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise PhoneError(f"cannot reach {url}: {exc}") from exc
        return response.status_code, response.text

    def keep_recording(self, recording_sid: str, data: bytes, content_type: str,
                       filename: str) -> str:
        path = reverse("demo:local_recording", kwargs={"recording_sid": recording_sid})
        try:
            response = self.session.put(
                self.base + path, data=data, timeout=self.timeout,
                auth=(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN),
                headers={"Content-Type": content_type or "application/octet-stream"},
            )
        except requests.RequestException as exc:
            raise PhoneError(f"cannot upload the recording: {exc}") from exc
        if response.status_code != 201:
            raise PhoneError(f"the local provider refused the recording: HTTP "
                             f"{response.status_code} {response.text[:200]}")
        return response.json()["url"]

    def url_of(self, name: str) -> str:
        """The URL of any webhook of the running Relais, by its URL name."""
        return self.base + reverse(name)


# --- The phone ---------------------------------------------------------------------------

@dataclass
class CallResult:
    call_sid: str
    heard: list[str] = field(default_factory=list)
    voicemail_reference: str | None = None
    dialed: str | None = None
    dial_status: str | None = None
    recording_sid: str | None = None
    requests: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # (url, params) of every request, to replay them (tests); not part of the JSON.
    sent: list[tuple[str, dict]] = field(default_factory=list, repr=False)

    def as_json(self) -> dict:
        return {
            "call_sid": self.call_sid,
            "voicemail_reference": self.voicemail_reference,
            "heard": self.heard,
            "dialed": self.dialed,
            "dial_status": self.dial_status,
            "recording_sid": self.recording_sid,
            "requests": self.requests,
            "errors": self.errors,
        }


@dataclass
class LocalPhone:
    transport: InProcess | OverHttp
    max_steps: int = 20

    def call(self, to: str, caller: str, audio: bytes | None = None,
             audio_type: str = "audio/wav", audio_name: str = "message.wav", *,
             answer: str = "no-answer", consent: str = "none",
             hangup_during_recording: bool = False,
             recording_callback: str = "early",
             hangup_before_message: bool = False) -> CallResult:
        """Place one call and follow it to the end; returns what happened."""
        if answer not in OUTCOMES:
            raise ValueError(f"answer must be one of {sorted(OUTCOMES)}")
        if consent not in CONSENT_DIGITS and not re.fullmatch(r"[0-9*#]", consent):
            raise ValueError("consent must be share, private, none or one key")
        if recording_callback not in ("early", "late"):
            raise ValueError("recording_callback must be early or late")
        session = _Session(self, CallResult(new_sid("CA")), to, caller, audio, audio_type,
                           audio_name, answer, CONSENT_DIGITS.get(consent, consent),
                           hangup_during_recording, recording_callback)
        session.hangup_before_message = hangup_before_message
        return session.run()

    def text(self, to: str, caller: str, body: str) -> "TextResult":
        """Send one SMS to ``to`` as Twilio Messaging posts it (signed), and read the reply
        Relais answers in TwiML (``<Message>``): it is what the provider would text back,
        so in this process it is kept in the development outbox, like any SMS sent."""
        sid = new_sid("SM")
        params = {
            "AccountSid": settings.TWILIO_ACCOUNT_SID, "ApiVersion": API_VERSION,
            "MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid, "From": caller,
            "To": to, "Body": body, "NumMedia": "0", "NumSegments": str(_segments(body)),
            "SmsStatus": "received",
        }
        url = self.transport.url_of("texts:inbound")
        status, answer = self.transport.post(url, params)
        result = TextResult(sid, status)
        if status != 200:
            result.errors.append(f"{url}: HTTP {status} {answer[:200]}")
            return result
        try:
            root = ET.fromstring(answer)  # noqa: S314 - our own server's answer
        except ET.ParseError as exc:
            raise PhoneError(f"{url} did not answer TwiML: {exc}") from exc
        for verb in root:
            if verb.tag == "Message":
                reply = "".join(verb.itertext()).strip()
                result.replies.append(reply)
                if isinstance(self.transport, InProcess):
                    OutboxMessage.objects.create(kind=OutboxMessage.Kind.SMS, to=caller,
                                                 sender=to, body=reply,
                                                 segments=_segments(reply))
        return result


class _Session:
    def __init__(self, phone, result, to, caller, audio, audio_type, audio_name, answer,
                 digit, hangup_during_recording, recording_callback):
        self.phone = phone
        self.t = phone.transport
        self.result = result
        self.to, self.caller = to, caller
        self.audio, self.audio_type, self.audio_name = audio, audio_type, audio_name
        self.answer, self.digit = answer, digit
        self.hangup_during_recording = hangup_during_recording
        self.recording_callback = recording_callback
        self.hangup_before_message = False
        self.pending_callbacks: list[tuple[str, dict]] = []
        self.steps = 0
        self.seconds = 0

    def base(self, status: str = "in-progress") -> dict:
        return {
            "AccountSid": settings.TWILIO_ACCOUNT_SID, "ApiVersion": API_VERSION,
            "CallSid": self.result.call_sid, "CallStatus": status, "Direction": "inbound",
            "From": self.caller, "Caller": self.caller, "To": self.to, "Called": self.to,
        }

    def request(self, url: str, params: dict, twiml: bool = True) -> ET.Element | None:
        self.steps += 1
        if self.steps > self.phone.max_steps:
            raise PhoneError("too many requests for one call (a TwiML loop?)")
        status, body = self.t.post(url, params)
        if status in (301, 302, 307, 308):
            # A webhook never redirects: this Relais is configured for production (DEBUG
            # off sends http:// to https://) or the URL is not the one it answers on.
            raise PhoneError(
                f"{url} answered HTTP {status} (a redirect): Relais sends http:// to https:// "
                "when DEBUG is off; run `python3 dev.py start` in this checkout first (it "
                "writes var/relais.env), or set RELAIS_PUBLIC_URL to the https:// address."
            )
        self.result.requests.append({"url": url, "status": status})
        self.result.sent.append((url, dict(params)))
        if not twiml:
            if status >= 300:
                self.result.errors.append(f"{url}: HTTP {status}")
            return None
        if status != 200:
            # What Twilio does on an application error: an announcement, then hang up.
            self.result.errors.append(f"{url}: HTTP {status}")
            self.result.heard.append(f"[erreur de l'application : HTTP {status}]")
            return None
        try:
            # Our own server's answer (or the --url server the user chose).
            root = ET.fromstring(body)  # noqa: S314
        except ET.ParseError as exc:
            raise PhoneError(f"{url} did not answer TwiML: {exc}") from exc
        if root.tag != "Response":
            raise PhoneError(f"{url} did not answer a TwiML <Response>")
        return root

    def run(self) -> CallResult:
        doc = self.request(self.t.url("voice"), self.base("ringing"))
        if doc is not None:
            self.execute(doc)
        for url, params in self.pending_callbacks:
            self.request(url, params, twiml=False)
        final = self.base("completed")
        final.update(CallDuration=str(self.seconds), CallbackSource="call-progress-events",
                     SequenceNumber="0", Timestamp=formatdate(usegmt=True))
        self.request(self.t.url("status"), final, twiml=False)
        heard = " ".join(self.result.heard)
        found = REFERENCE.findall(heard)
        if found and self.result.recording_sid:
            self.result.voicemail_reference = re.sub(r"\D", "", found[0])
        return self.result

    def execute(self, doc: ET.Element) -> None:
        """Run a TwiML document; a verb that hands over to another document returns."""
        for verb in doc:
            tag = verb.tag
            if tag == "Say":
                self.result.heard.append((verb.text or "").strip())
                self.seconds += 3
            elif tag == "Play":
                self.result.heard.append(f"[annonce enregistrée : {(verb.text or '').strip()}]")
                self.seconds += 3
            elif tag == "Pause":
                self.seconds += int(verb.get("length", "1"))
            elif tag in ("Hangup", "Reject"):
                return
            elif tag == "Redirect":
                nxt = self.request((verb.text or "").strip(), self.base())
                if nxt is not None:
                    self.execute(nxt)
                return
            elif tag == "Dial":
                if self.dial(verb):
                    return
            elif tag == "Record":
                if self.record(verb):
                    return
            elif tag == "Gather":
                if self.gather(verb):
                    return
            else:
                raise PhoneError(f"the local phone does not know <{tag}>")

    def follow(self, url: str | None, params: dict) -> bool:
        """Request an action URL and run its TwiML. True: control went there."""
        if not url:
            return False
        nxt = self.request(url, params)
        if nxt is not None:
            self.execute(nxt)
        return True

    def dial(self, verb: ET.Element) -> bool:
        self.result.dialed = (verb.text or "").strip() or None
        status = OUTCOMES[self.answer]
        self.result.dial_status = status
        duration = secrets.choice(range(20, 90)) if status == "completed" else 0
        self.seconds += duration or int(verb.get("timeout", "30"))
        params = self.base()
        params.update(DialCallStatus=status, DialCallSid=new_sid("CA"),
                      DialCallDuration=str(duration),
                      DialBridged="true" if status == "completed" else "false")
        return self.follow(verb.get("action"), params)

    def record(self, verb: ET.Element) -> bool:
        if self.hangup_before_message:
            return True  # the caller hangs up at the announcement: no recording, no action
        if verb.get("playBeep", "true") != "false":
            self.result.heard.append("[bip]")
        if not self.audio:
            return False  # silence: no recording, the provider goes on to the next verb
        sid = new_sid("RE")
        self.result.recording_sid = sid
        url = self.t.keep_recording(sid, self.audio, self.audio_type, self.audio_name)
        duration = audio_seconds(self.audio)
        max_length = int(verb.get("maxLength", "3600"))
        duration = min(duration, max_length)
        self.seconds += duration
        callback = verb.get("recordingStatusCallback")
        if callback:
            params = {
                "AccountSid": settings.TWILIO_ACCOUNT_SID, "CallSid": self.result.call_sid,
                "RecordingSid": sid, "RecordingUrl": url, "RecordingStatus": "completed",
                "RecordingDuration": str(duration), "RecordingChannels": "1",
                "RecordingSource": "RecordVerb", "RecordingStartTime": formatdate(usegmt=True),
            }
            if self.recording_callback == "early":
                self.request(callback, params, twiml=False)
            else:
                self.pending_callbacks.append((callback, params))
        params = self.base()
        params.update(RecordingUrl=url, RecordingSid=sid, RecordingDuration=str(duration),
                      Digits="hangup" if self.hangup_during_recording else
                      verb.get("finishOnKey", "1234567890*#")[:1])
        action = verb.get("action")
        if self.hangup_during_recording:
            if action:  # requested, but its TwiML is not executed: nobody is there
                self.request(action, params)
            return True
        return self.follow(action, params)

    def gather(self, verb: ET.Element) -> bool:
        for child in verb:
            if child.tag == "Say":
                self.result.heard.append((child.text or "").strip())
            elif child.tag == "Play":
                self.result.heard.append(f"[annonce enregistrée : {(child.text or '').strip()}]")
        self.seconds += 5
        params = self.base()
        if self.digit:
            params["Digits"] = self.digit
            return self.follow(verb.get("action"), params)
        if verb.get("actionOnEmptyResult") == "true":
            return self.follow(verb.get("action"), params)
        return False  # no input: on to the next verb


@dataclass
class TextResult:
    message_sid: str
    status: int
    replies: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"message_sid": self.message_sid, "status": self.status,
                "replies": self.replies, "errors": self.errors}


def _segments(body: str) -> int:
    return sms.segments(body)


def result_json(result: CallResult) -> str:
    return json.dumps(result.as_json(), ensure_ascii=False)
