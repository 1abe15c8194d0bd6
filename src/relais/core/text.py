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

