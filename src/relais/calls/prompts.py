"""What callers hear: texts from data/prompts.toml, or the operator's recordings."""

import tomllib
from functools import cache
from pathlib import Path
from string import Formatter

from django.conf import settings
from django.urls import reverse

DATA = Path(__file__).resolve().parent / "data" / "prompts.toml"
LANGUAGE = "fr-FR"


@cache
def catalogue() -> dict[str, dict[str, str]]:
    with DATA.open("rb") as f:
        return tomllib.load(f)


def text(key: str, **values: str) -> str:
    return catalogue()[key]["text"].format(**values)


def recordable_keys() -> list[tuple[str, str]]:
    """(key, label) of the prompts an operator may replace by a recording (no placeholder)."""
    return [
        (key, entry["label"])
        for key, entry in catalogue().items()
        if not any(field for _, field, _, _ in Formatter().parse(entry["text"]))
    ]


def speak(response, key: str, **values: str) -> None:
    """Append the prompt to a TwiML response: the operator's recording, or <Say>."""
    from .models import Prompt  # models import this module's callers

    if not values:
        prompt = Prompt.objects.filter(key=key, active=True).exclude(audio="").first()
        if prompt is not None:
            version = int(prompt.updated_at.timestamp())
            url = settings.RELAIS_PUBLIC_URL + reverse("calls:prompt", args=[key])
            response.play(f"{url}?v={version}")
            return
    response.say(text(key, **values), language=LANGUAGE)


def spell_digits(code: str) -> str:
    """``"4712"`` → ``"4, 7, 1, 2"``: read digit by digit by text-to-speech."""
    return ", ".join(code)
