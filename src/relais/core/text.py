"""Text that must stay on one line (email headers, file names, one-line labels)."""

import re
import unicodedata

# C0 and C1 controls (CR, LF, TAB, NUL, NEL…) and the Unicode line and paragraph
# separators; the SIRENE importer applies the same rule column-wise
# (relais.directory.importer.single_line).
_CONTROL = "\x00-\x1f\x7f-\x9f\u2028\u2029"
_CONTROL_RUN = re.compile(f"[ {_CONTROL}]*[{_CONTROL}][ {_CONTROL}]*")


def single_line(value: str) -> str:
    """``value`` on one line: each run of control characters (with the spaces around it)
    becomes one space, invisible format characters (zero-width, bidirectional overrides,
    soft hyphen) are dropped, and the ends are trimmed."""
    value = _CONTROL_RUN.sub(" ", value or "")
    value = "".join(ch for ch in value if unicodedata.category(ch) != "Cf")
    return value.strip()


# --- Looping transcripts -------------------------------------------------------------------
# Speech recognition sometimes repeats one phrase until the end of the audio ("je vous
# rappelle je vous rappelle je vous rappelle …"). Readers are shown the text up to the
# first repetition and told the transcription is uncertain.
LOOP_MIN_REPEATS = 3  # a phrase said this many times in a row…
LOOP_MIN_WORDS = 9  # …over at least this many words is a loop, not emphasis ("non non")


def _words(text: str) -> list[str]:
    return [re.sub(r"\W+", "", w).lower() for w in text.split()]


def find_loop(text: str, max_phrase: int = 15) -> int | None:
    """The number of words of ``text`` to keep before an obvious loop, or None."""
    words = _words(text)
    count = len(words)
    for start in range(count):
        for n in range(1, max_phrase + 1):
            phrase = words[start:start + n]
            if len(phrase) < n or not any(phrase):
                break
            repeats = 1
            while words[start + repeats * n:start + (repeats + 1) * n] == phrase:
                repeats += 1
            if repeats >= LOOP_MIN_REPEATS and repeats * n >= LOOP_MIN_WORDS:
                return start + n
    return None


def without_loop(text: str) -> str:
    """``text`` cut after the first occurrence of a looping phrase ("…" marks the cut)."""
    keep = find_loop(text or "")
    if keep is None:
        return text
    return " ".join(text.split()[:keep]).rstrip(" ,;") + " …"
