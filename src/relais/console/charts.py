"""Charts as SVG, drawn on the server: no script, no external library, allowed by the CSP.

Each function returns safe markup: an ``<svg class="chart">`` with a title, the marks
(class ``mark``, each with a ``<title>`` giving its value) and light axes. Text comes
from the console (labels, numbers) and is escaped.
"""

import math

from django.utils.html import escape
from django.utils.safestring import mark_safe

PALETTE = ("#0b6e4f", "#2b6cb0", "#b7791f", "#a4262c", "#6b46c1", "#718096")


def _svg(name: str, title: str, width: int, height: int, body: list[str]) -> str:
    return mark_safe(  # noqa: S308 - every piece of text below goes through escape()
        f'<svg class="chart" data-chart="{escape(name)}" role="img" '
        f'aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        + "".join(body) + "</svg>")


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    exp = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if value <= m * exp:
            return m * exp
    return 10 * exp  # pragma: no cover


def _fmt(value: float) -> str:
    return f"{value:,.0f}".replace(",", " ") if value == int(value) else f"{value:.1f}"


def stacked_days(name: str, title: str, days: list[dict], series, width=720, height=220):
    """One stacked bar per day. ``series``: (key, label) pairs read from each day."""
    left, bottom, top = 44, 22, 8
    plot_w, plot_h = width - left - 8, height - bottom - top
    top_value = _nice_max(max((sum(d[k] for k, _ in series) for d in days), default=0))
    step = plot_w / max(len(days), 1)
    bar_w = max(step * 0.8, 1)
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" '
            'stroke="#cbd2d9"/>']
    for frac in (0, 0.5, 1):
        y = top + plot_h - frac * plot_h
        body.append(f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end" '
                    f'fill="#52606d">{_fmt(top_value * frac)}</text>')
    for i, d in enumerate(days):
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h
        for j, (key, label) in enumerate(series):
            value = d[key]
            if not value:
                continue
            h = value / top_value * plot_h
            y -= h
            body.append(
                f'<rect class="mark" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}"><title>'
                f'{escape(d["day"].strftime("%d/%m"))} · {escape(label)} : {_fmt(value)}'
                '</title></rect>')
    if not any('class="mark"' in b for b in body):
        body.append(f'<text class="mark empty" x="{left + plot_w / 2}" y="{top + plot_h / 2}" '
                    'font-size="12" text-anchor="middle" fill="#52606d">'
                    'Aucune donnée sur la période</text>')
    if days:
        for i in {0, len(days) // 2, len(days) - 1}:
            body.append(f'<text x="{left + (i + 0.5) * step:.1f}" y="{height - 6}" '
                        f'font-size="10" text-anchor="middle" fill="#52606d">'
                        f'{escape(days[i]["day"].strftime("%d/%m"))}</text>')
    return _svg(name, title, width, height, body)


def _short(label: str, size: int = 44) -> str:
    return label if len(label) <= size else label[:size - 1] + "…"


def bars(name: str, title: str, items: list[tuple[str, float]], width=720, unit="",
         row=22):
    """Horizontal bars, one per (label, value), in the order given (long labels are
    shortened; the full one is in the bar's title)."""
    label_w = 300
    height = max(len(items), 1) * row + 8
    top_value = _nice_max(max((v for _, v in items), default=0))
    body = []
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        w = value / top_value * (width - label_w - 70)
        body.append(f'<text x="{label_w - 6}" y="{y + row * 0.65:.1f}" font-size="12" '
                    f'text-anchor="end" fill="#1f2933">{escape(_short(label))}</text>')
        body.append(f'<rect class="mark" x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" '
                    f'height="{row - 6}" fill="{PALETTE[i % 2]}"><title>{escape(label)} : '
                    f'{escape(_fmt(value))}{escape(unit)}</title></rect>')
        body.append(f'<text x="{label_w + max(w, 1) + 4:.1f}" y="{y + row * 0.65:.1f}" '
                    f'font-size="12" fill="#52606d">{escape(_fmt(value))}{escape(unit)}</text>')
    if not items:
        body.append(f'<text class="mark empty" x="{width / 2}" y="18" font-size="12" '
                    'text-anchor="middle" fill="#52606d">Aucune donnée sur la période</text>')
    return _svg(name, title, width, height, body)


# Metropolitan France and Corsica; overseas communes are counted in a caption.
METROPOLE = (41.2, 51.2, -5.2, 9.7)


def commune_map(name: str, title: str, communes: list[dict], width=520, height=520):
    """Messages by commune: one disc per commune at its coordinates (equirectangular,
    scaled by the cosine of the mean latitude), area proportional to the count."""
    body = []
    s0, n0, w0, e0 = METROPOLE
    inside, overseas = [], []
    for c in communes:
        (inside if s0 <= c["lat"] <= n0 and w0 <= c["lon"] <= e0 else overseas).append(c)
    communes = inside
    if overseas:
        body.append(f'<text x="{width - 8}" y="{height - 8}" font-size="12" text-anchor="end" '
                    f'fill="#52606d">Outre-mer : {_fmt(sum(c["n"] for c in overseas))} '
                    'message(s)</text>')
    if not communes and not overseas:
        body.append(f'<text class="mark empty" x="{width / 2}" y="{height / 2}" '
                    'font-size="12" text-anchor="middle" fill="#52606d">'
                    'Aucun message sur la période</text>')
        return _svg(name, title, width, 60, body)
    lat0, lat1, lon0, lon1 = METROPOLE
    kx = math.cos(math.radians((lat0 + lat1) / 2))
    span = max((lon1 - lon0) * kx, lat1 - lat0)
    pad = 16
    scale = (min(width, height) - 2 * pad) / span
    biggest = max((c["n"] for c in communes), default=1)
    body.insert(0, f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f5f7fa"/>')
    for c in sorted(communes, key=lambda c: -c["n"]):  # small discs drawn on top
        x = pad + (c["lon"] - lon0) * kx * scale
        y = pad + (lat1 - c["lat"]) * scale
        r = 1.5 + 14 * math.sqrt(c["n"] / biggest)
        body.append(f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" '
                    f'fill="#2b6cb0" fill-opacity="0.55" stroke="#1a4971" stroke-width="0.5">'
                    f'<title>{escape(c["name"])} ({escape(c["departement"])}) : '
                    f'{_fmt(c["n"])}</title></circle>')
    return _svg(name, title, width, height, body)
