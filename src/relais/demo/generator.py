"""A synthetic StockEtablissement file, in exactly INSEE's format.

For the demo directory, the tests and the benchmarks: establishments in communes drawn
by population, NAF sous-classes drawn from a frequency table (data/naf_weights.csv),
coordinates in each territory's SIRENE projection, and the awkward cases of the real
file (partially diffusible rows masked with [ND], closed establishments, missing
coordinates, old nomenclatures, establishments abroad). Deterministic for a seed.
"""

import csv
import io
import tomllib
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from relais.directory import sirene
from relais.directory.reference import COMMUNES_FILE, NAF_FILE, normalise

CHUNK = 50_000
MEMBER = "StockEtablissement_utf8.csv"
PARENTS_OF_ARRONDISSEMENTS = {"75056", "69123", "13055"}
ND = sirene.ND
DATA = Path(__file__).resolve().parent / "data"  # naf_weights.csv, synthetic.toml


@dataclass(frozen=True)
class Shares:
    """How often the awkward cases occur (fractions of rows)."""

    closed: float = 0.08
    partial: float = 0.05
    missing_coordinates: float = 0.03
    abroad: float = 0.002
    enseigne: float = 0.28
    denomination: float = 0.10


@cache
def _words() -> dict:
    with (DATA / "synthetic.toml").open("rb") as f:
        return tomllib.load(f)


@cache
def _naf_table() -> tuple[tuple[tuple[str, str], ...], np.ndarray]:
    """(nomenclature, code) pairs and their probabilities; '*' spread over the rest."""
    with NAF_FILE.open(encoding="utf-8", newline="") as f:
        sous_classes = [r["code"] for r in csv.DictReader(f) if r["niveau"] == "sous-classe"]
    with (DATA / "naf_weights.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    listed = {r["code"] for r in rows if r["nomenclature"] == "NAFRev2"}
    pairs, weights = [], []
    for r in rows:
        if r["code"] == "*":
            rest = [c for c in sous_classes if c not in listed]
            share = float(r["weight"]) / len(rest)
            pairs += [(r["nomenclature"], c) for c in rest]
            weights += [share] * len(rest)
        else:
            pairs.append((r["nomenclature"], r["code"]))
            weights.append(float(r["weight"]))
    p = np.asarray(weights)
    return tuple(pairs), p / p.sum()


@dataclass(frozen=True)
class _Communes:
    code: list[str]
    label: list[str]
    postal: list[str]
    departement: list[str]
    lat: np.ndarray
    lon: np.ndarray
    sigma_km: np.ndarray
    p: np.ndarray


def _communes(departements: frozenset[str] | None) -> _Communes:
    with COMMUNES_FILE.open(encoding="utf-8", newline="") as f:
        rows = [
            r for r in csv.DictReader(f)
            if r["code_insee"] not in PARENTS_OF_ARRONDISSEMENTS
            and (not departements or r["departement"] in departements)
        ]
    if not rows:
        raise ValueError("no commune in the selected départements")
    population = np.asarray([max(int(r["population"] or 0), 1) for r in rows], float)
    return _Communes(
        code=[r["code_insee"] for r in rows],
        label=[_commune_label(r["nom"], r["type"]) for r in rows],
        postal=[r["codes_postaux"].split(" ")[0] for r in rows],
        departement=[r["departement"] for r in rows],
        lat=np.asarray([float(r["latitude"]) for r in rows]),
        lon=np.asarray([float(r["longitude"]) for r in rows]),
        # Spread establishments over roughly the commune's built-up area.
        sigma_km=np.clip(0.25 * np.log10(population + 10), 0.3, 1.6),
        p=population / population.sum(),
    )


def _commune_label(name: str, kind: str) -> str:
    """libelleCommuneEtablissement as INSEE writes it: upper case, no accents."""
    label = normalise(name).upper()
    if kind == "arrondissement-municipal":  # "Paris 11e Arrondissement" → "PARIS 11"
        city, number = label.split(" ")[0], "".join(ch for ch in label if ch.isdigit())
        return f"{city} {number}"
    return label.replace(" ", "-") if "-" in name else label


def _luhn_digit(digits: np.ndarray) -> np.ndarray:
    """Check digits making each row of ``digits`` (+ the digit) pass the Luhn check."""
    doubled = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9])
    n = digits.shape[1]
    total = np.zeros(digits.shape[0], dtype=np.int64)
    for i in range(n):
        d = digits[:, n - 1 - i]
        total += doubled[d] if i % 2 == 0 else d
    return (10 - total % 10) % 10


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers) % 10


@dataclass
class GenerateResult:
    rows: int
    path: Path


class _State:
    """What carries from one chunk to the next: the SIREN sequence."""

    def __init__(self, rows: int = 0):
        self.siren_base = SIREN_START  # 8 digits before the Luhn digit
        self.nic_base = 1
        self.max_gap = max_siren_gap(rows)


SIREN_START = 30_000_000
MAX_ROWS = 75_000_000


def max_siren_gap(rows: int) -> int:
    """The largest step between two SIRENs (exclusive) for a file of ``rows`` rows.

    SIRENs are 8 digits and a Luhn digit: from SIREN_START the sequence must stay below
    10⁸ however many rows (88 % start a new SIREN, by mean gap ``max_gap / 2``). 40 for
    files up to a few million rows (the output of a seed does not change), smaller for
    national sizes (the full file has about 40M rows).
    """
    room = 100_000_000 - SIREN_START - 10_000_000  # a margin for the draws' spread
    return int(min(40, max(2, 2 * room / (max(rows, 1) * 0.88))))


def generate(
    out: Path | str,
    rows: int,
    seed: int = 0,
    *,
    departements: Iterable[str] | None = None,
    shares: Shares = Shares(),
    progress: bool | None = None,
) -> GenerateResult:
    """Write ``rows`` synthetic establishments to ``out`` (.csv, or .zip holding the CSV)."""
    from tqdm import tqdm

    out = Path(out)
    rng = np.random.default_rng(seed)
    communes = _communes(frozenset(departements) if departements else None)
    if rows > MAX_ROWS:
        raise ValueError(f"at most {MAX_ROWS:,} rows (SIRENs have 9 digits)")
    state = _State(rows)
    bar = tqdm(total=rows, unit="rows", unit_scale=True, desc="generate_sirene",
               disable=None if progress is None else not progress, leave=False)
    with bar, _open_out(out, rows) as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(sirene.HEADER)
        done = 0
        while done < rows:
            n = min(CHUNK, rows - done)
            writer.writerows(_chunk(rng, n, communes, shares, state))
            done += n
            bar.update(n)
    return GenerateResult(rows, out)


class _open_out:
    def __init__(self, out: Path, rows: int):
        self.out, self.rows = out, rows

    def __enter__(self):
        self.out.parent.mkdir(parents=True, exist_ok=True)
        if self.out.suffix.lower() == ".zip":
            self.zip = zipfile.ZipFile(self.out, "w", compression=zipfile.ZIP_DEFLATED,
                                       compresslevel=6)
            info = zipfile.ZipInfo(MEMBER, date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            self.raw = self.zip.open(info, "w", force_zip64=self.rows > 4_000_000)
            self.text = io.TextIOWrapper(self.raw, encoding="utf-8", newline="")
        else:
            self.zip = None
            self.text = self.out.open("w", encoding="utf-8", newline="")
        return self.text

    def __exit__(self, *exc):
        self.text.close()
        if self.zip is not None:
            self.zip.close()


def _chunk(rng, n: int, communes: _Communes, shares: Shares, state: _State):
    words = _words()
    naf_pairs, naf_p = _naf_table()

    # --- identifiers: increasing SIRENs, some with several establishments -----------
    new_siren = rng.random(n) >= 0.12
    gaps = rng.integers(1, state.max_gap, n) * new_siren
    siren_base = state.siren_base + np.cumsum(gaps)
    inc = rng.integers(1, 4, n)
    inc[new_siren] = 0
    total = np.cumsum(inc)
    start = np.maximum.accumulate(np.where(new_siren, np.arange(n), -1))
    nic_base = np.where(start >= 0, 1 + total - total[np.maximum(start, 0)],
                        state.nic_base + total) % 10_000
    state.siren_base = int(siren_base[-1])
    state.nic_base = int(nic_base[-1])
    siren_digits = _digits(siren_base, 8)
    siren9 = siren_base * 10 + _luhn_digit(siren_digits)
    siret13 = siren9 * 10_000 + nic_base
    siret14 = siret13 * 10 + _luhn_digit(_digits(siret13, 13))
    sirets = [f"{v:014d}" for v in siret14.tolist()]

    # --- where -------------------------------------------------------------------------
    ci = rng.choice(len(communes.code), size=n, p=communes.p)
    angle = rng.random(n) * 2 * np.pi
    radius = np.abs(rng.normal(0, 1, n)) * communes.sigma_km[ci]
    lat = communes.lat[ci] + radius * np.sin(angle) / 111.2
    lon = communes.lon[ci] + radius * np.cos(angle) / (111.2 * np.cos(np.radians(lat)))
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    departement = np.asarray(communes.departement, dtype=object)[ci]
    crs = np.fromiter((sirene.crs_for_departement(d) for d in departement), int, n)
    for epsg in np.unique(crs):
        sel = crs == epsg
        x[sel], y[sel] = sirene.from_wgs84(int(epsg)).transform(lon[sel], lat[sel])

    # --- what ----------------------------------------------------------------------------
    ni = rng.choice(len(naf_pairs), size=n, p=naf_p)
    closed = rng.random(n) < shares.closed
    partial = rng.random(n) < shares.partial
    no_coords = rng.random(n) < shares.missing_coordinates
    abroad = rng.random(n) < shares.abroad
    has_enseigne = rng.random(n) < shares.enseigne
    has_denomination = rng.random(n) < shares.denomination
    created = np.datetime64("1975-01-01") + rng.integers(0, 18_250, n).astype("timedelta64[D]")
    debut = created + rng.integers(0, 3_000, n).astype("timedelta64[D]")
    debut = np.minimum(debut, np.datetime64("2025-06-30"))
    processed = np.datetime64("2020-01-01T00:00:00") + rng.integers(
        0, 170_000_000, n).astype("timedelta64[s]")
    created_s = np.datetime_as_string(created, unit="D")
    debut_s = np.datetime_as_string(debut, unit="D")
    processed_s = np.datetime_as_string(processed, unit="s")
    u = rng.random((n, 8)).tolist()  # spare uniforms for the small choices below
    k = rng.integers(0, 1 << 30, (n, 6)).tolist()
    ci_l, ni_l = ci.tolist(), ni.tolist()
    x_l, y_l = x.tolist(), y.tolist()
    closed_l, partial_l, no_coords_l = closed.tolist(), partial.tolist(), no_coords.tolist()
    abroad_l, enseigne_l, denomination_l = (
        abroad.tolist(), has_enseigne.tolist(), has_denomination.tolist())

    surnames, first_names = words["surnames"], words["first_names"]
    streets, street_types = words["streets"], words["street_types"]
    complements, trade_words = words["complements"], words["trade_words"]
    tranches = ("NN", "00", "01", "02", "03", "11", "12", "21")

    out = []
    for i in range(n):
        siret = sirets[i]
        c = ci_l[i]
        nomenclature, code = naf_pairs[ni_l[i]]
        ki, ui = k[i], u[i]
        surname = surnames[ki[0] % len(surnames)]
        trade = trade_words.get(code)
        enseigne1 = enseigne2 = denomination = ""
        if enseigne_l[i]:
            enseigne1 = _trade_name(trade, surname, first_names[ki[1] % len(first_names)],
                                    ki[2] % 8)
            if ui[0] < 0.05:
                enseigne2 = f"{surname} {code[:2]}"
        if denomination_l[i]:
            denomination = _trade_name(trade, surname, first_names[ki[3] % len(first_names)],
                                       (ki[2] + 3) % 8)
        is_abroad = abroad_l[i]
        is_partial = partial_l[i] and not is_abroad
        number = str(1 + ki[4] % 180)
        street = streets[ki[5] % len(streets)]
        street_type = street_types[ki[4] % len(street_types)]
        repetition = "B" if ui[1] < 0.04 else ""
        complement = complements[ki[5] % len(complements)] if ui[2] < 0.06 else ""
        special = f"BP {10 + ki[3] % 900}" if ui[3] < 0.01 else ""
        if no_coords_l[i] or is_abroad:
            cx = cy = ""
            address_id = ""
        else:
            cx, cy = f"{x_l[i]:.1f}", f"{y_l[i]:.1f}"
            address_id = f"{communes.code[c]}_{ki[0] % 10000:04d}_{ki[1] % 100000:05d}"
        if is_partial:
            number = repetition = street_type = street = complement = special = ND
            cx = cy = address_id = ND
            if ui[4] < 0.5:
                enseigne1 = ND if enseigne1 else ""
                denomination = ND if denomination else ""
        commune_code, postal, commune_label = communes.code[c], communes.postal[c], \
            communes.label[c]
        country = country_label = foreign_city = ""
        if is_abroad:
            commune_code = postal = commune_label = ""
            country, country_label, foreign_city = "99109", "ALLEMAGNE", "BERLIN"
            number, street_type, street = str(1 + ki[4] % 90), "", "FRIEDRICHSTRASSE"
        siege = "true" if ui[5] < 0.8 else "false"
        employer = "O" if ui[6] < 0.3 else ("N" if ui[6] < 0.95 else "")
        tranche = tranches[ki[3] % len(tranches)] if ui[7] < 0.7 else ""
        rm = f"{code.replace('.', '')}{'AB'[ki[2] % 2]}" \
            if nomenclature == "NAFRev2" and code.startswith("43") and ui[7] < 0.5 else ""
        naf25 = code if nomenclature == "NAFRev2" and ui[0] >= 0.5 else ""
        out.append((
            siret[:9], siret[9:], siret, "P" if is_partial else "O", created_s[i],
            tranche, "2023" if tranche and tranche != "NN" else "", rm, processed_s[i],
            siege, str(1 + ki[0] % 4), complement, number, repetition, "", "",
            street_type, street, postal, commune_label, foreign_city, special, commune_code,
            "", "", country, country_label, address_id, cx, cy,
            "", "", "", "", "", "", "", "", "", "", "", "", "", "",
            debut_s[i], "F" if closed_l[i] else "A", enseigne1, enseigne2, "", denomination,
            code, nomenclature, employer, naf25,
        ))
    return out


def _trade_name(trade: list[str] | None, surname: str, first_name: str, pattern: int) -> str:
    word = trade[pattern % len(trade)] if trade else ("SERVICES", "CONSEIL", "ATELIER")[
        pattern % 3]
    return (
        f"{word} {surname}",
        f"{surname} ET FILS",
        f"L'ATELIER DE {first_name}",
        f"{word} {surname} & CIE",
        f'CHEZ "{first_name}", {word}',
        f"{surname} {word}",
        f"{word} DU CENTRE",
        f"{first_name} {surname}",
    )[pattern]
