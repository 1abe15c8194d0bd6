"""A listing's opening hours: parsing, checking and saying them (plain functions).

Hours are written the way a French professional writes them, one group of days per
``;``, each with one or more time ranges::

    lun-ven 08:00-12:00 14:00-18:00; sam 09:00-12:00

Days are ``lun mar mer jeu ven sam dim`` (a range ``lun-ven`` or a list ``lun,mer``);
times are ``HH:MM`` (or ``8h``, ``8h30``) in the site's time zone (``TIME_ZONE``).
Empty hours mean "no hours given": the listing is always reachable, as before.
"""

import re
from dataclasses import dataclass
from datetime import datetime, time

from django.utils import timezone

DAYS = ("lun", "mar", "mer", "jeu", "ven", "sam", "dim")
DAY_NAMES = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MAX_LENGTH = 300
_TIME = re.compile(r"^(\d{1,2})(?::|h)?(\d{2})?$")


class HoursError(ValueError):
    """Hours that do not parse; the message is French, for the form."""


@dataclass(frozen=True)
class Group:
    days: tuple[int, ...]  # 0 = Monday
    ranges: tuple[tuple[time, time], ...]


def _time(text: str) -> time:
    m = _TIME.match(text.strip().lower())
    if not m:
        raise HoursError(f"Heure illisible : « {text} » (écrivez par exemple 08:00).")
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if hour == 24 and minute == 0:
        return time(23, 59, 59)
    if hour > 23 or minute > 59:
        raise HoursError(f"Heure impossible : « {text} ».")
    return time(hour, minute)


def _days(text: str) -> tuple[int, ...]:
    days: list[int] = []
    for part in text.lower().split(","):
        bounds = [b.strip().rstrip(".")[:3] for b in part.split("-")]
        if len(bounds) not in (1, 2) or any(b not in DAYS for b in bounds):
            raise HoursError(f"Jour illisible : « {part.strip()} » (lun, mar, mer, jeu, ven, "
                             "sam, dim ; par exemple lun-ven).")
        first, last = DAYS.index(bounds[0]), DAYS.index(bounds[-1])
        if last < first:
            raise HoursError(f"Plage de jours à l'envers : « {part.strip()} ».")
        days.extend(range(first, last + 1))
    return tuple(sorted(set(days)))


def parse(text: str) -> tuple[Group, ...]:
    """The groups of ``text``; HoursError (French) if it does not parse."""
    text = (text or "").strip()
    if not text:
        return ()
    if len(text) > MAX_LENGTH:
        raise HoursError(f"Horaires trop longs (au plus {MAX_LENGTH} caractères).")
    groups = []
    for chunk in filter(None, (c.strip() for c in text.split(";"))):
        words = chunk.split()
        if len(words) < 2:
            raise HoursError(f"« {chunk} » : indiquez des jours puis des heures "
                             "(par exemple lun-ven 08:00-18:00).")
        ranges = []
        for word in words[1:]:
            start, sep, end = word.partition("-")
            if not sep:
                raise HoursError(f"Plage horaire illisible : « {word} » (par exemple "
                                 "08:00-12:00).")
            opens, closes = _time(start), _time(end)
            if closes <= opens:
                raise HoursError(f"Plage horaire à l'envers : « {word} ».")
            ranges.append((opens, closes))
        groups.append(Group(_days(words[0]), tuple(ranges)))
    return tuple(groups)


def normalise(text: str) -> str:
    """The canonical writing of ``text`` (what the form stores); HoursError otherwise."""
    parts = []
    for group in parse(text):
        d = group.days
        days = (f"{DAYS[d[0]]}-{DAYS[d[-1]]}" if len(d) > 2 and list(d) == list(
            range(d[0], d[-1] + 1)) else ",".join(DAYS[i] for i in d))
        times = " ".join(f"{a:%H:%M}-{'24:00' if b == time(23, 59, 59) else f'{b:%H:%M}'}"
                         for a, b in group.ranges)
        parts.append(f"{days} {times}")
    return "; ".join(parts)


def is_open(text: str, at: datetime | None = None) -> bool:
    """Whether the listing is open at ``at`` (now): always, when no hours are given, or
    when they cannot be read (never lose a call over a typo)."""
    try:
        groups = parse(text)
    except HoursError:
        return True
    if not groups:
        return True
    local = timezone.localtime(at or timezone.now())
    now = local.time()
    return any(local.weekday() in g.days and any(a <= now < b for a, b in g.ranges)
               for g in groups)


def _say_time(t: time) -> str:
    if t == time(23, 59, 59):
        return "minuit"
    return f"{t.hour} h" + (f" {t.minute:02d}" if t.minute else "")


def _say_days(days: tuple[int, ...]) -> str:
    if len(days) > 2 and list(days) == list(range(days[0], days[-1] + 1)):
        return f"du {DAY_NAMES[days[0]]} au {DAY_NAMES[days[-1]]}"
    names = [DAY_NAMES[d] for d in days]
    return "le " + (" et le ".join(names) if len(names) <= 2
                    else ", le ".join(names[:-1]) + " et le " + names[-1])


def describe(text: str) -> str:
    """The hours said in French: « du lundi au vendredi de 8 h à 12 h et de 14 h à 18 h ;
    le samedi de 9 h à 12 h »; "" when none are given (or they do not parse)."""
    try:
        groups = parse(text)
    except HoursError:
        return ""
    return " ; ".join(
        _say_days(g.days) + " " + " et ".join(f"de {_say_time(a)} à {_say_time(b)}"
                                              for a, b in g.ranges)
        for g in groups
    )
