"""The TwiML of a call-back (Twilio's ``VoiceResponse``), its texts in data/prompts.toml.

The professional's leg, once answered: a whisper and a ``<Gather>`` (1 to call the person;
no key — an answering machine — hangs up, nothing dialled), then
``<Dial callerId=TRACKING>`` with ``<Number url=…>`` — the caller hears who calls back and
why, presses 1 to talk, 9 to refuse call-backs for this message, nothing (an answering
machine): the call ends uncharged — and the <Dial> action settles the call-back.
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
CONNECT_KEY = "1"  # both legs must press it: an answering machine presses nothing


@cache
def catalogue() -> dict[str, dict[str, str]]:
    with DATA.open("rb") as f:
        return tomllib.load(f)


def text(key: str, **values: str) -> str:
    return catalogue()[key]["text"].format(**values)


def say(response, key: str, **values: str) -> None:
    response.say(text(key, **values), language=LANGUAGE)


def whisper_pro(metier: str, day: str, action: str) -> VoiceResponse:
    """Played to the professional once they pick up: nothing is dialled before their 1."""
    response = VoiceResponse()
    about = f"pour un {metier.lower()}" if metier else "sur votre ligne"
    gather = response.gather(num_digits=1, timeout=WHISPER_TIMEOUT, action=action,
                             method="POST")
    say(gather, "whisper_pro", about=about, day=day)
    say(gather, "pro_press")
    say(response, "pro_no_key")  # no input: hang up, nothing dialled
    response.hangup()
    return response


def bridge(caller_e164: str, caller_id: str, *, action: str,
           whisper_url: str) -> VoiceResponse:
    response = VoiceResponse()
    dial = response.dial(caller_id=caller_id, timeout=DIAL_TIMEOUT, action=action,
                         method="POST")
    dial.number(caller_e164, url=whisper_url, method="POST")
    return response


def whisper_caller(name: str, day: str, action: str) -> VoiceResponse:
    """Played to the caller before the bridge; 1 connects, 9 refuses, no key hangs up."""
    response = VoiceResponse()
    gather = response.gather(num_digits=1, timeout=WHISPER_TIMEOUT, action=action,
                             method="POST")
    say(gather, "whisper_caller", name=name, day=day)
    say(response, "caller_no_key")  # no input (an answering machine): never bridged
    response.hangup()
    return response


def goodbye(key: str) -> VoiceResponse:
    response = VoiceResponse()
    say(response, key)
    response.hangup()
    return response


def empty() -> VoiceResponse:
    return VoiceResponse()
