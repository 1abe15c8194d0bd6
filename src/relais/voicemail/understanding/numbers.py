"""Numbers as people say them: French (and English) number words to digits.

Used to find phone and card numbers spelled out by Whisper: "zéro six douze
trente-quatre cinquante-six soixante-dix-huit" is 06 12 34 56 78.
"""

from __future__ import annotations

UNITS = {
    "zero": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6,
    "sept": 7, "huit": 8, "neuf": 9,
}
TEENS = {
    "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16,
}
TENS = {
    "vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60,
    "septante": 70, "huitante": 80, "octante": 80, "nonante": 90,
}
HUNDREDS = {"cent": 100, "cents": 100}
ENGLISH = {
    "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}
VALUES = {**UNITS, **TEENS, **TENS, **HUNDREDS, **ENGLISH}
# Words that may sit inside a spoken number without being one.
JOINERS = frozenset({"et"})
NUMBER_WORDS = frozenset(VALUES) | JOINERS | {"double"}


def _combine(cur: int, v: int) -> int | None:
    """cur followed by v as one number (trente + quatre = 34), or None."""
    if cur == 4 and v == 20:  # quatre-vingt
        return 80
    if cur >= 20 and cur % 10 == 0 and cur < 100:
        if 1 <= v <= 9:
            return cur + v
        if cur in (60, 80) and 10 <= v <= 19:  # soixante-dix-huit, quatre-vingt-douze
            return cur + v
    if cur in (70, 90) and 1 <= v <= 9:  # soixante-dix + sept (when said as dix, sept)
        return cur + v
    if cur == 10 and 7 <= v <= 9:  # dix-sept
        return cur + v
    if 1 <= cur <= 9 and v == 100:
        return cur * 100
    if cur % 100 == 0 and 100 <= cur < 1000 and 1 <= v < 100:
        return cur + v
    if cur == 100 and 1 <= v < 100:
        return cur + v
    return None


def spoken_digits(tokens: list[str]) -> str:
    """Digits of a run of folded number words and digit groups, in order.

    >>> spoken_digits(["zero", "six", "douze", "trente", "quatre"])
    '061234'
    """
    out: list[str] = []
    cur: int | None = None
    double = False

    def flush() -> None:
        nonlocal cur
        if cur is not None:
            out.append(str(cur))
            cur = None

    for t in tokens:
        if t.isdigit():
            flush()
            out.append(t)
            continue
        if t in JOINERS:
            continue
        if t == "double":
            flush()
            double = True
            continue
        v = VALUES.get(t)
        if v is None:
            continue
        if double and v < 10:
            flush()
            out.append(str(v) * 2)
            double = False
            continue
        if v == 0 or t == "oh":
            flush()
            out.append("0")
            continue
        if cur is not None:
            combined = _combine(cur, v)
            if combined is not None:
                cur = combined
                continue
            flush()
        cur = v
    flush()
    return "".join(out)
