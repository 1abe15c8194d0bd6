"""Phone numbers: parsing to E.164 and French display (``phonenumbers``).

Numbers are stored E.164 (``+33199000001``) and shown French-formatted
(``01 99 00 00 01``). Every app parses and shows numbers through these functions.
"""

import re

import phonenumbers

# What Twilio puts in ``From`` when the caller withheld their number: the word, or
# numbers spelling ANONYMOUS, RESTRICTED, BLOCKED, UNKNOWN, UNAVAILABLE on a keypad.
WITHHELD = frozenset({
    "anonymous", "restricted", "blocked", "unknown", "unavailable", "private",
    "+266696687", "+7378742833", "+2562533", "+8656696", "+86282452253",
})


class NumberError(ValueError):
    """A number that does not parse, or an operation the pool refuses."""


def to_e164(value: str, region: str = "FR") -> str:
    """Parse a number (E.164 or French national format) and return it E.164."""
    raw = (value or "").strip()
    if not raw or len(raw) > 32:
        raise NumberError(f"not a phone number: {value!r}")
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise NumberError(f"not a phone number: {value!r}") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise NumberError(f"not a phone number: {value!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_withheld(value: str) -> bool:
    return (value or "").strip().lower() in WITHHELD


def format_fr(e164: str) -> str:
    """``+33612345678`` → ``06 12 34 56 78``; foreign numbers in international format."""
    if not e164:
        return ""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if parsed.country_code == 33:
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def is_french_mobile(e164: str) -> bool:
    """Whether ``e164`` is a French mobile number (06 or 07): the only numbers Relais
    texts. Withheld numbers (""), landlines (01–05, 09), special and foreign numbers are
    not. Decided on the numbering plan's prefix (ARCEP: 06 and 07 are mobile), not on
    phonenumbers' range metadata, which lags behind newly opened blocks.
    """

    return bool(re.fullmatch(r"\+33[67]\d{8}", e164 or ""))
