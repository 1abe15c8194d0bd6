"""The TwiML of a call-back (Twilio's ``VoiceResponse``), its texts in data/prompts.toml.

The professional's leg, once answered: a whisper, then ``<Dial callerId=TRACKING>`` with
``<Number url=…>`` — the caller hears who calls back and why, and may press 9 to refuse
call-backs for this message — and the <Dial> action settles the call-back.
"""

import tomllib
from functools import cache
from pathlib import Path

from twilio.twiml.voice_response import VoiceResponse

LANGUAGE = "fr-FR"
DATA = Path(__file__).resolve().parent / "data" / "prompts.toml"
DIAL_TIMEOUT = 25  # seconds the caller's phone rings
WHISPER_TIMEOUT = 5  # seconds the caller has to press 9
REFUSE_KEY = "9"


@cache
def catalogue() -> dict[str, dict[str, str]]:
    with DATA.open("rb") as f:
        return tomllib.load(f)


def text(key: str, **values: str) -> str:
    return catalogue()[key]["text"].format(**values)


def say(response, key: str, **values: str) -> None:
    response.say(text(key, **values), language=LANGUAGE)


def bridge(caller_e164: str, caller_id: str, metier: str, day: str, *, action: str,
           whisper_url: str) -> VoiceResponse:
    response = VoiceResponse()
    about = f"pour un {metier.lower()}" if metier else "sur votre ligne"
    say(response, "whisper_pro", about=about, day=day)
    dial = response.dial(caller_id=caller_id, timeout=DIAL_TIMEOUT, action=action,
                         method="POST")
    dial.number(caller_e164, url=whisper_url, method="POST")
    return response


def whisper_caller(name: str, day: str, action: str) -> VoiceResponse:
    """Played to the caller before the bridge; 9 refuses, anything else connects."""
    response = VoiceResponse()
    gather = response.gather(num_digits=1, timeout=WHISPER_TIMEOUT, action=action,
                             method="POST")
    say(gather, "whisper_caller", name=name, day=day)
    return response  # no input: the whisper ends, the call is bridged


def goodbye(key: str) -> VoiceResponse:
    response = VoiceResponse()
    say(response, key)
    response.hangup()
    return response


def empty() -> VoiceResponse:
    return VoiceResponse()
