"""The TwiML documents Relais answers with (built with Twilio's ``VoiceResponse``).

Action and callback URLs are absolute, on ``RELAIS_PUBLIC_URL``: the provider requests
(and signs) exactly those URLs, whatever proxy sits in front of Relais. The record and
gather actions are the voicemail app's webhooks (relais.voicemail.webhooks), named here by
their URL names only.
"""

from django.conf import settings
from django.urls import reverse
from twilio.twiml.voice_response import VoiceResponse

from . import prompts

DIAL_TIMEOUT = 20  # seconds the professional's phone rings
RECORD_MAX_SECONDS = 120
GATHER_TIMEOUT = 8
RECORD_ACTION = "voicemail_webhooks:record"
GATHER_ACTION = "voicemail_webhooks:gather"


def url(name: str) -> str:
    """The public URL of a webhook: ``dial`` (this app's) or ``app:name``."""
    return settings.RELAIS_PUBLIC_URL + reverse(name if ":" in name else f"calls:{name}")


def refuse(prompt: str) -> VoiceResponse:
    response = VoiceResponse()
    prompts.speak(response, prompt)
    response.hangup()
    return response


def forward(number: str, caller: str) -> VoiceResponse:
    """Ring the professional; the caller's number is shown to them when known."""
    response = VoiceResponse()
    response.dial(number, timeout=DIAL_TIMEOUT, action=url("dial"), method="POST",
                  caller_id=caller or None)
    return response


def hangup() -> VoiceResponse:
    response = VoiceResponse()
    response.hangup()
    return response


def record_message(closed_hours: str = "", unclaimed: bool = False) -> VoiceResponse:
    """The announcement, then <Record>; if nothing was recorded the provider goes on.

    ``closed_hours`` (the hours said in French, or "-" when they cannot be said): the
    call came outside the listing's opening hours, which the announcement gives first.
    ``unclaimed``: a listing nobody holds (called through the number pool) — the caller
    is told the message can only reach other professionals, with their consent.
    """
    response = VoiceResponse()
    if closed_hours == "-":
        prompts.speak(response, "closed")
    elif closed_hours:
        prompts.speak(response, "closed_hours", hours=closed_hours)
    prompts.speak(response, "voicemail_intro_unclaimed" if unclaimed else "voicemail_intro")
    response.record(
        max_length=RECORD_MAX_SECONDS, play_beep=True, finish_on_key="#",
        action=url(RECORD_ACTION), method="POST",
        recording_status_callback=url("recording_status"),
        recording_status_callback_method="POST",
        recording_status_callback_event="completed absent",
    )
    # Reached only when the provider skips the action (no audio at all).
    prompts.speak(response, "nothing_recorded")
    response.hangup()
    return response


def ask_consent(unclaimed: bool = False) -> VoiceResponse:
    """One key: 1 = share; anything else, or nothing, = this professional only.

    With actionOnEmptyResult the provider requests the action without Digits on silence;
    providers ignoring it fall through to the <Redirect>, which does the same.
    """
    response = VoiceResponse()
    gather = response.gather(num_digits=1, timeout=GATHER_TIMEOUT, action=url(GATHER_ACTION),
                             method="POST", action_on_empty_result=True)
    prompts.speak(gather, "consent_question_unclaimed" if unclaimed else "consent_question")
    response.redirect(url(GATHER_ACTION), method="POST")
    return response


def goodbye(consent: str, reference: str, unclaimed: bool = False) -> VoiceResponse:
    response = VoiceResponse()
    if consent == "share":
        prompts.speak(response, "consent_share")
    else:
        prompts.speak(response, "consent_private_unclaimed" if unclaimed else "consent_private")
    prompts.speak(response, "reference", digits=prompts.spell_digits(reference))
    response.hangup()
    return response


def xml(response: VoiceResponse):
    from django.http import HttpResponse

    return HttpResponse(str(response), content_type="text/xml; charset=utf-8")
