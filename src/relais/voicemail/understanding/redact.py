"""Redaction: remove personal details from a transcript, keep the request.

``redact(text)`` finds phone numbers (every French form, spelled out or not), emails
(written or spoken: "jean point dupont arobase gmail point com"), IBANs, card numbers,
street addresses and people's names, and returns the redacted text with the spans it
replaced, as character offsets into the ORIGINAL text (the pipeline maps them to
Whisper's word timestamps to bleep the audio: ``spans_to_word_indices``).

What is kept on purpose: the town and the postal code (a postal code is shared by
thousands of people and the town is what routing needs), trades, prices, dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .numbers import ENGLISH, NUMBER_WORDS, TENS, VALUES, spoken_digits
from .text import STOPWORDS, commune_names, first_names, fold, words

TOKENS = {
    "phone": "[téléphone]",
    "email": "[email]",
    "iban": "[iban]",
    "card": "[carte]",
    "address": "[adresse]",
    "name": "[nom]",
}
PRIORITY = ("email", "iban", "card", "phone", "address", "name")
MAX_CHARS = 200_000  # longer texts are cut: nothing of a voicemail is that long


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class Redaction:
    text: str
    spans: list[Span]


# --- emails ------------------------------------------------------------------------------
_TLD = r"(?:com|fr|net|org|eu|be|ch|io|me|info|biz|uk|de|es|it|pro|email|co)"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_SPOKEN_EMAIL = re.compile(
    r"\b[\w][\w.+-]*"
    r"(?:\s+(?:point|dot|tiret(?:\s+du\s+(?:bas|6|six|huit|8))?|underscore|trait\s+d['’]union)"
    r"\s+[\w][\w.+-]*)*"
    r"\s*(?:\barobase\b|\barrobase\b|\bat\b|@)\s*"
    r"[\w][\w-]*(?:\s*(?:\bpoint\b|\bdot\b|\.)\s*[\w-]+)*"
    r"(?:\s*(?:\bpoint\b|\bdot\b|\.)\s*" + _TLD + r")\b",
    re.IGNORECASE | re.UNICODE,
)
_SPOKEN_EMAIL_FR = re.compile(  # "arobase" is unambiguous: the domain may lack its ending
    r"\b[\w][\w.+-]*(?:\s+(?:point|tiret|underscore)\s+[\w][\w.+-]*)*"
    r"\s*\b(?:arobase|arrobase)\b\s*[\w][\w-]*(?:\s*(?:\bpoint\b|\.)\s*[\w-]+)*",
    re.IGNORECASE | re.UNICODE,
)


def _emails(text: str) -> list[Span]:
    out = [Span(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]
    for rx in (_SPOKEN_EMAIL, _SPOKEN_EMAIL_FR):
        out += [Span(m.start(), m.end(), "email") for m in rx.finditer(text)]
    return out


# --- IBAN ----------------------------------------------------------------------------------
_IBAN = re.compile(
    r"\b[A-Za-z]{2}\s?\d{2}(?:[ .-]?[A-Za-z0-9]{4}){3,7}(?:[ .-]?[A-Za-z0-9]{1,3})?\b"
)


def _ibans(text: str) -> list[Span]:
    out = []
    for m in _IBAN.finditer(text):
        compact = re.sub(r"[\s.-]", "", m.group(0))
        if len(compact) >= 14 and sum(c.isdigit() for c in compact) >= 10:
            out.append(Span(m.start(), m.end(), "iban"))
    return out


# --- phone and card numbers -------------------------------------------------------------
_ATOM = re.compile(r"\+|\d+|[^\W\d_]+", re.UNICODE)
_GAP = re.compile(r"[\s.,;:\-/()'’…]*")
_FILLERS = frozenset({"euh", "heu", "hum", "alors", "donc"})


def _luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _numbers(text: str) -> list[Span]:
    """Runs of digit groups and number words; phone or card when they are long enough."""
    atoms = [(m.start(), m.end(), m.group(0)) for m in _ATOM.finditer(text)]
    runs: list[list[tuple[int, int, str]]] = []
    cur: list[tuple[int, int, str]] = []
    prev_end = None
    for idx, (start, end, raw) in enumerate(atoms):
        tok = raw if raw.isdigit() or raw == "+" else fold(raw)
        numeric = raw.isdigit() or tok in NUMBER_WORDS or raw == "+"
        if tok == "et":  # only inside "vingt et un", "soixante et onze"
            nxt = fold(atoms[idx + 1][2]) if idx + 1 < len(atoms) else ""
            numeric = bool(cur) and cur[-1][2] in TENS and nxt in {"un", "une", "onze"}
        filler = tok in _FILLERS or tok == "plus"
        gap_ok = prev_end is not None and _GAP.fullmatch(text, prev_end, start) is not None \
            and start - prev_end <= 4
        if (numeric or (filler and cur)) and (not cur or gap_ok):
            cur.append((start, end, tok))
        elif numeric:
            runs.append(cur)
            cur = [(start, end, tok)]
        else:
            if cur:
                runs.append(cur)
            cur = [(start, end, tok)] if tok == "plus" else []
        prev_end = end
    runs.append(cur)

    out = []
    for run in runs:
        # trim what is not a number at either end ("et", "euh", a lone "plus")
        while run and (run[-1][2] in _FILLERS or run[-1][2] in {"et", "plus", "+", "double"}):
            run = run[:-1]
        while run and (run[0][2] in _FILLERS or run[0][2] in {"et", "double"}):
            run = run[1:]
        if not run:
            continue
        international = run[0][2] in {"+", "plus"}
        digits = spoken_digits([t for _, _, t in run if t not in {"+", "plus"}])
        n = len(digits)
        if international and n < 6:
            continue
        if 13 <= n <= 19 and not international and digits[0] in "3456" and _luhn(digits):
            kind = "card"
        elif 13 <= n <= 19 and not international and digits[0] in "3456" \
                and all(t.isdigit() for _, _, t in run):
            kind = "card"
        elif n >= 8 or (n >= 6 and (international or digits.startswith("0"))):
            kind = "phone"
        else:
            continue
        out.append(Span(run[0][0], run[-1][1], kind))
    return out


# --- street addresses -----------------------------------------------------------------------
_STREET = (
    r"rue|avenue|av\.|bd|bld|boulevard|chemin|impasse|all[ée]e|place|route|quai|cours|square|"
    r"lotissement|lieu[- ]dit|r[ée]sidence|voie|sentier|passage|cit[ée]|hameau|faubourg|"
    r"promenade|esplanade|rond[- ]point|mont[ée]e|ruelle|venelle|parvis|villa|clos|domaine"
)
_NEEDS_NUMBER = frozenset({"place", "route", "cours", "voie", "passage", "cite", "villa", "clos",
                           "domaine", "promenade", "esplanade", "parvis", "residence"})
_HOUSE_NUMBER_WORDS = sorted(
    (w for w in VALUES if len(w) > 2 and w not in ENGLISH and w != "une"), key=len, reverse=True
)
_NUMBER_WORD_RX = "|".join([*_HOUSE_NUMBER_WORDS, "zéro", "zero"])
_ADDRESS = re.compile(
    r"(?P<num>\b(?:\d{1,4}|(?:(?:" + _NUMBER_WORD_RX + r")[\s-]*){1,4})"
    r"(?:\s*(?:bis|ter|b)\b)?\s*,?\s*)?"
    r"\b(?P<type>" + _STREET + r")\b"
    r"(?P<name>(?:\s+(?:de\s+la|de\s+l['’]|des|du|de|d['’]|la|le|les|l['’]|aux))?"
    r"(?:\s*[\w'’-]+){1,6})",
    re.IGNORECASE | re.UNICODE,
)
_ADDRESS_STOP = frozenset(
    "a au aux pour et c est mon ma mes je j euh merci donc vers pres sur dans chez a cote "
    "in at near rappelez appelez vous nous on il elle ou si qui que tel telephone numero".split()
)


def _addresses(text: str) -> list[Span]:
    out = []
    for m in _ADDRESS.finditer(text):
        kind = fold(m.group("type")).replace("-", " ").split()[0]
        has_number = bool(m.group("num") and m.group("num").strip(" ,"))
        # the street name: words up to a stop word, a digit (postal code) or punctuation
        name_start = m.start("name")
        end = name_start
        first_word = None
        for w in re.finditer(r"[\w'’-]+|[^\w\s]", text[name_start:m.end("name")]):
            token = w.group(0)
            f = fold(token)
            if not token[0].isalnum() or token[0].isdigit():
                break
            if f in _ADDRESS_STOP and first_word is not None:
                break
            if f in _ADDRESS_STOP and f not in {"de", "du", "des", "la", "le", "les"}:
                break
            if first_word is None and f not in {"de", "du", "des", "la", "le", "les", "l", "d"}:
                first_word = token
            end = name_start + w.end()
        if first_word is None:
            continue
        named = first_word[:1].isupper()
        if not has_number and (kind in _NEEDS_NUMBER or not named):
            continue
        start = m.start("num") if has_number else m.start("type")
        out.append(Span(start, end, "address"))
    return out


# --- people's names --------------------------------------------------------------------------
_CIVILITY = re.compile(
    r"\b(?:[Mm]onsieur|[Mm]adame|[Mm]ademoiselle|MONSIEUR|MADAME|[Mm]me|[Mm]lle|M[Rr]s?|M[Ss]|"
    r"[Mm]iss|[Mm]a[iî]tre|[Dd]octeur|D[Rr]|[Ff]amille|M|Me)(?:\.\s*|\s+)(?=\S)",
)
_INTRO = re.compile(
    r"\b(?:je\s+m['’]appelle|je\s+me\s+nomme|moi\s+c['’]est|mon\s+nom\s+(?:est|c['’]est)|"
    r"my\s+name\s+is|i['’]m|this\s+is|it['’]s|c['’]est|ici|je\s+suis|de\s+la\s+part\s+de|"
    r"bonjour|bonsoir|salut|coucou|all[ôo]|hello|hi|hey|merci|avec|et|"
    r"(?:maman|papa|m[èe]re|p[èe]re|fille|fils|femme|mari|fr[èe]re|s[œo]e?ur|copain|copine|"
    r"ami|amie|voisin|voisine|beau-fr[èe]re|belle-s[œo]e?ur|ma[iî]tresse)\s+d[e'’]\s*)[\s,]+",
    re.IGNORECASE,
)
_STRONG_INTRO = re.compile(
    r"(?:je\s+m['’]appelle|je\s+me\s+nomme|(?<!chez )(?<!pour )moi\s+c['’]est|"
    r"mon\s+nom\s+(?:est|c['’]est)|my\s+name\s+is)[\s,]+$",
    re.IGNORECASE,
)
_WEAK_INTRO = re.compile(
    r"\b(?:c['’]est|ici|all[ôo]|salut|coucou|bonjour|bonsoir|hey|hi|hello|this\s+is|it['’]s)"
    r"[\s,]+",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*", re.UNICODE)
_PARTICLES = frozenset({"le", "la", "de", "du", "da", "van", "von", "di", "ben", "el", "des", "dos",
                        "mac", "mc", "ibn", "bin", "ould", "d"})
_NOT_NAMES = frozenset(
    """
    bonjour bonsoir salut coucou allo merci oui non madame monsieur mademoiselle docteur maitre
    famille au revoir hello hi hey thanks please sorry euh voila bon ben alors donc
    rappelez rappelle
    appelez appelle ici chez pour est-ce vous nous je moi toi lui elle elles ils on tu c'est the
    and mon ma mes ton ta tes son sa ses votre vos notre nos leur leurs un une des le la les du de
    i i'm im we you could would can thank french english my our your maman papa mamie papi
    tonton tata cheri cherie docteur
    """.split()
)


def _not_a_name(token: str) -> bool:
    f = fold(token)
    return f in _NOT_NAMES or f in STOPWORDS or f.replace("'", " ").split()[0] in STOPWORDS


def _is_place(token: str) -> bool:
    return " ".join(words(token)) in commune_names()


def _name_tokens(text: str, pos: int, *, allow_lower: bool, limit: int = 3) -> int:
    """End of a run of name words starting at pos (capitalised words and particles)."""
    end = pos
    count = 0
    i = pos
    while count < limit:
        m = _WORD.match(text, i)
        if not m:
            break
        token = m.group(0)
        f = fold(token)
        if f in _PARTICLES:
            nxt = re.match(r"\s+", text[m.end():])
            after = _WORD.match(text, m.end() + (nxt.end() if nxt else 0))
            if nxt and after and after.group(0)[:1].isupper() and not (
                    f in {"de", "d"} and _is_place(after.group(0))):  # "Yann de Quimper"
                i = after.start()
                continue
            break
        if _not_a_name(token):
            break
        if not (token[:1].isupper() or (allow_lower and count == 0)):
            break
        end = m.end()
        count += 1
        gap = re.match(r"[ \t]+", text[end:])
        if not gap:
            break
        i = end + gap.end()
    return end


_PLACE_BEFORE = re.compile(
    r"(?:\b(?:à|a|au|sur|vers|près\s+de|pres\s+de|in|near)\s+)$", re.IGNORECASE
)
_SENTENCE_START = re.compile(r"(?:^|[.!?…]\s*|^\W*)$")
_INTERJECTIONS = frozenset(
    "ah oh eh bah ben pardon desole desolee zut mince gros ciao bye ok okay oui non voila "
    "merci bravo super bon allez tiens".split()
)


def _candidate_ok(text: str, start: int, end: int, place_ok: bool = True) -> bool:
    """Not a town after a preposition ("à Nancy"), not a verb ("Pouvez-vous").

    place_ok=False: the word is no town, so "à" is just "à" ("dis bonjour à Leïla")."""
    before = text[max(0, start - 12):start]
    if place_ok and _PLACE_BEFORE.search(before):
        return False
    if re.match(r"-(?:vous|moi|nous|tu|je|il|elle|on|les|le|la|lui|toi)\b", text[end:end + 6],
                re.IGNORECASE):
        return False
    return fold(text[start:end]) not in _INTERJECTIONS


def _names(text: str) -> list[Span]:
    sure, ambiguous = first_names()
    out: list[Span] = []
    # 1. after a civility: "Madame Lefèvre", "monsieur benard", "M. Dubois"
    for m in _CIVILITY.finditer(text):
        end = _name_tokens(text, m.end(), allow_lower=True)
        if end > m.end():
            out.append(Span(m.end(), end, "name"))
    # 2. first names from the lexicon, capitalised (or lower case after an introduction)
    for m in _WORD.finditer(text):
        token = m.group(0)
        f = fold(token)
        if f not in sure and f not in ambiguous:
            continue
        before = text[max(0, m.start() - 40):m.start()]
        intro = _INTRO.search(before + " ") is not None and re.search(
            _INTRO.pattern + r"$", before, re.IGNORECASE) is not None
        if token[:1].isupper():
            if f in ambiguous and not intro:
                continue
        elif not (intro and f in sure and len(f) > 2):
            continue
        if not intro and not _candidate_ok(text, m.start(), m.end(), place_ok=_is_place(token)):
            continue
        end = _name_tokens(text, m.start(), allow_lower=True)
        out.append(Span(m.start(), max(end, m.end()), "name"))
    # 3. "je m'appelle X", "moi c'est X": whatever word follows
    # "c'est Titi", "Allô Dédé", "ici Kiloutou": a capitalised word after an introduction
    for m in _WEAK_INTRO.finditer(text):
        w = _WORD.match(text, m.end())
        if w and w.group(0)[:1].isupper() and not _not_a_name(w.group(0)) \
                and not _is_place(w.group(0)) and _candidate_ok(text, w.start(), w.end()) \
                and not _is_common(w.group(0)):
            out.append(Span(w.start(), _name_tokens(text, w.start(), allow_lower=False), "name"))
    for m in re.finditer(_STRONG_INTRO.pattern[:-1], text, re.IGNORECASE):
        w = _WORD.match(text, m.end())
        lower_ok = bool(w) and fold(w.group(0)) in sure | ambiguous
        end = _name_tokens(text, m.end(), allow_lower=lower_ok)
        if end > m.end():
            out.append(Span(m.end(), end, "name"))
    # 4. spaCy's PER entities, trimmed of greetings, never a town or a plain word. The model
    # only reads the neighbourhood of capitalised words the rules above did not explain.
    from .nlp import person_spans_in

    found = _merge(out)
    windows = _ner_windows(text, found, sure | ambiguous)
    if windows:
        for s, e in person_spans_in(text, windows):
            tokens = list(_WORD.finditer(text, s, e))
            while tokens and (_not_a_name(tokens[0].group(0))
                              or not tokens[0].group(0)[0].isupper()):
                tokens.pop(0)
            while tokens and _not_a_name(tokens[-1].group(0)):
                tokens.pop()
            if not tokens:
                continue
            s, e = tokens[0].start(), tokens[-1].end()
            span_text = text[s:e]
            if _is_place(span_text) or all(_is_common(t.group(0)) for t in tokens):
                continue
            if not _candidate_ok(text, s, e):
                continue
            if len(tokens) == 1 and fold(span_text) not in sure \
                    and _SENTENCE_START.search(text[max(0, s - 3):s]):
                continue  # "Pardon, …", "Désolé, …": a capital at a sentence start
            out.append(Span(tokens[0].start(), tokens[-1].end(), "name"))
    return out


NER_CONTEXT = 60  # characters of context on each side of a word the model looks at


def _ner_windows(text: str, found: list[Span], lexicon: frozenset[str]) -> list[tuple[int, int]]:
    windows: list[tuple[int, int]] = []
    for w in _WORD.finditer(text):
        token = w.group(0)
        if not token[:1].isupper() or len(token) < 2:
            continue
        if any(f.start <= w.start() < f.end for f in found):
            continue
        f = fold(token)
        if f in lexicon or _not_a_name(token) or f in _INTERJECTIONS or _is_place(token):
            continue
        if _PLACE_BEFORE.search(text[max(0, w.start() - 12):w.start()]):
            continue
        start = text.rfind(" ", 0, max(0, w.start() - NER_CONTEXT)) + 1
        end = text.find(" ", min(len(text), w.end() + NER_CONTEXT))
        end = len(text) if end == -1 else end
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], end))
        else:
            windows.append((start, end))
    return windows


def _is_common(token: str) -> bool:
    """A word that is a trade or request word rather than a name (kept by redaction)."""
    from .metiers import match_metiers
    from .text import keys

    if not token[:1].isupper():
        return True
    return bool(match_metiers(keys(token))[0])


# --- assembly ----------------------------------------------------------------------------------
def _merge(spans: list[Span]) -> list[Span]:
    """Overlapping spans become one, of the most important kind."""
    rank = {k: i for i, k in enumerate(PRIORITY)}
    merged: list[Span] = []
    for s in sorted(spans, key=lambda s: (s.start, -s.end)):
        if s.end <= s.start:
            continue
        if merged and s.start < merged[-1].end:
            last = merged[-1]
            kind = min(last.kind, s.kind, key=rank.__getitem__)
            merged[-1] = Span(last.start, max(last.end, s.end), kind)
        else:
            merged.append(s)
    return merged


def find_spans(text: str) -> list[Span]:
    spans = _emails(text) + _ibans(text) + _numbers(text) + _addresses(text)
    protected = _merge(spans)
    names = [
        n for n in _names(text)
        if not any(p.start <= n.start and n.end <= p.end for p in protected)
    ]
    return _merge(spans + names)


def redact(text: str) -> Redaction:
    """Redacted text and the replaced spans (offsets into ``text``); never raises."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    body = text[:MAX_CHARS]
    spans = find_spans(body)
    parts = []
    pos = 0
    for s in spans:
        parts.append(body[pos:s.start])
        parts.append(TOKENS[s.kind])
        pos = s.end
    parts.append(body[pos:])
    return Redaction("".join(parts), spans)


# --- audio -----------------------------------------------------------------------------------
def words_text(words: list[dict]) -> str:
    """The transcript made of timed words: their texts joined as Whisper gives them."""
    return "".join(str(w.get("word", "")) for w in words)


def spans_to_word_indices(
    words: list[dict], spans: list[Span] | list[tuple[int, int]]
) -> set[int]:
    """Indices of the words (``[{"start", "end", "word"}]``) that a span of
    ``words_text(words)`` touches: the words to bleep in the audio."""
    ranges = [(s.start, s.end) if isinstance(s, Span) else (int(s[0]), int(s[1])) for s in spans]
    out: set[int] = set()
    pos = 0
    for i, w in enumerate(words):
        t = str(w.get("word", ""))
        lead = len(t) - len(t.lstrip())
        trail = len(t) - len(t.rstrip())
        a, b = pos + lead, pos + len(t) - trail  # the word itself, without its spaces
        pos += len(t)
        if b <= a:
            continue
        if any(s < b and a < e for s, e in ranges):
            out.add(i)
    return out
