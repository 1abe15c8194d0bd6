"""CSV export of the console's figures: counts only, never personal data.

Cells a spreadsheet would read as a formula (starting with = + - @, a tab or a carriage
return) are prefixed with a quote (OWASP's CSV injection advice); numbers are written as
numbers, so negative values are not touched.
"""

import csv
import io

from .figures import Figures
from .models import COUNTERS

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe(cell) -> str | int | float:
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return cell
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(DANGEROUS) else text


def figures_csv(fig: Figures) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")

    def row(*cells):
        w.writerow([safe(c) for c in cells])

    f = fig.filters
    row("période", f.first.isoformat(), f.last.isoformat())
    row("département", f.departement or "tous")
    row("métier", f.metier or "tous")
    row()
    row("jour", *COUNTERS)
    for d in fig.days:
        row(d["day"].isoformat(), *(d[c] for c in COUNTERS))
    row("total", *(fig.totals[c] for c in COUNTERS))
    row()
    row("raison de non-partage", "messages")
    for _key, label, n in fig.why:
        row(label, n)
    row()
    email, action = fig.latency("email"), fig.latency("action")
    row("délai", "mesures", "p50 (s, borne haute)", "p95 (s, borne haute)")
    row("enregistrement → premier e-mail", email["n"], email["p50"], email["p95"])
    row("distribution → première action", action["n"], action["p50"], action["p95"])
    row()
    row("métier", "libellé", "messages", "distributions", "pas mon métier", "pas une demande",
        "taux pas pour moi")
    for m in fig.by_metier:
        row(m["metier"], m["label"], m["voicemails"], m["deliveries"], m["wrong_metier"],
            m["not_request"], round(m["rate"], 4))
    row()
    row("métier prédit", "métier suggéré", "retours")
    for c in fig.confusions:
        row(c["predicted_label"], c["suggested_label"], c["n"])
    row()
    row("commune (INSEE)", "nom", "département", "messages")
    for c in fig.communes:
        row(c["code"], c["name"], c["departement"], c["n"])
    return out.getvalue()

