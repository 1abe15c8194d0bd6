# SQL below is assembled from this module's table and column constants only; every
# value travels as a query parameter.
# ruff: noqa: S608
"""Import INSEE's StockEtablissement file into the directory.

Two phases, so that a bad file never changes the directory:

1. **Stage.** The file (CSV or the published .zip, UTF-8) is read as a stream in
   chunks of whole lines; Apache Arrow's CSV reader parses each chunk (on every core)
   and the rows are checked and turned into directory rows with vectorised operations
   (coordinates projected with one pyproj call per projection and chunk). They go to a
   temporary table (executemany on SQLite, binary COPY on PostgreSQL). A fatal problem (not a
   zip, truncated zip, not UTF-8, not a StockEtablissement header) stops here: the
   temporary tables are dropped and the directory is untouched.
2. **Merge.** One transaction keeps the last occurrence of each SIRET, compares it with
   the directory in SQL, marks each row created / updated / unchanged / deactivated /
   skipped, applies the inserts and updates in bulk, and refreshes the name index for
   the rows that changed.

Into an **empty** directory (the first load) there is nothing to compare: the parsed
rows go straight to the directory's tables in one transaction, indexes built at the end
(:class:`_FirstLoad`), which is what brings the first national load near the raw-load
ceiling. A SIRET named twice sends that load back through stage and merge.

A chunk with anything unusual (a row with too few or too many fields, a blank line, a
line Arrow cannot parse) is read again with Python's csv module, so every rejected row
is reported with its exact line number.

Memory stays constant whatever the file size: one batch of rows at a time.
"""

import csv
import io
import queue
import sqlite3
import threading
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pgpq
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.db import IntegrityError, OperationalError, connections, transaction
from django.utils import timezone

from . import signals, sirene

CHUNK_BYTES = 4 << 20  # bytes of whole lines parsed at a time
BULK_LOAD_ROWS = 50_000  # from this many new rows, indexes are rebuilt rather than updated
KEEP_REJECTIONS = 1_000  # rejected rows kept in memory for the summary
PARSE_THREADS = 2  # chunks parsed at once
FIRST_LOAD_LOCK_WAIT_MS = 5_000  # PostgreSQL: how long a first load waits for its tables
STAGE = "relais_import_stage"
MERGED = "relais_import_merged"
TOKENS = "relais_import_tokens"
WITHDRAWN = "relais_import_withdrawn"
ESTABLISHMENTS = "directory_establishment"
NAMETOKEN = "directory_nametoken"

# Staged columns, in order (after siret, line, state).
STAGE_COLUMNS = (
    "siret", "line", "state", "siren", "name", "search_name", "naf_code",
    "naf_nomenclature", "naf25_code", "commune_id", "postal_code", "address",
    "diffusion", "latitude", "longitude", "geo_source", "sirene_updated_at",
)
# Directory columns the import owns and compares to tell "updated" from "unchanged".
COMPARED = (
    "siren", "name", "search_name", "naf_code", "naf_nomenclature", "naf25_code",
    "commune_id", "postal_code", "address", "diffusion", "latitude", "longitude",
    "geo_source", "sirene_updated_at",
)

# Row states in the stage: KEEP = an active establishment in France to keep;
# WITHDRAW = closed, abroad, outside the covered territories or not diffusible:
# deactivated when the directory has it, skipped otherwise.
KEEP = "A"
WITHDRAW = "X"

# Words that do not identify a trade name (legal forms, articles).
NAME_STOPWORDS = frozenset(
    "sarl sas sasu eurl sa sci snc scp scm selarl selas sarlu ei eirl earl gaec scea "
    "et de du des la le les l d en au aux a chez the and ets etablissements societe ste "
    "cie co".split()
)
MAX_TOKENS = 8
TOKEN_LENGTH = 32

# How far SIRENE coordinates may be from the commune's point before we distrust them.
MAX_OFFSET_KM = 60.0
MAX_OFFSET_KM_BY_DEPARTEMENT = {"973": 250.0}  # Guyane's communes are immense


class SireneFileError(Exception):
    """The file cannot be imported at all (one line, meant for the operator)."""


@dataclass
class Rejection:
    line: int
    siret: str
    reason: str


@dataclass
class ImportResult:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    skipped: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    rejected_by_reason: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"read {self.read:,} · created {self.created:,} · updated {self.updated:,} · "
            f"unchanged {self.unchanged:,} · deactivated {self.deactivated:,} · "
            f"skipped {self.skipped:,} · rejected {self.rejected:,}"
        )


# --- Reading the file -------------------------------------------------------------------


class _CountingReader(io.RawIOBase):
    """A raw binary stream that counts the bytes read (for the progress bar)."""

    def __init__(self, raw):
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


@contextmanager
def open_stock(path: Path) -> Iterator[tuple[io.BufferedReader, int, _CountingReader]]:
    """Open a StockEtablissement CSV or .zip as a binary stream of the CSV.

    Yields (stream, total bytes, counting reader). Raises SireneFileError for files
    that are not a readable CSV or zip.
    """
    path = Path(path)
    if not path.is_file():
        raise SireneFileError(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise SireneFileError(f"{path}: the file is empty")
    with path.open("rb") as f:
        magic = f.read(4)
    if magic.startswith(b"PK"):
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as e:
            raise SireneFileError(f"{path}: not a readable zip archive ({e})") from None
        with archive:
            member = _pick_member(path, archive)
            try:
                raw = archive.open(member)
            except (zipfile.BadZipFile, OSError, NotImplementedError) as e:
                raise SireneFileError(f"{path}: cannot read {member.filename} ({e})") from None
            with raw:
                counter = _CountingReader(raw)
                yield io.BufferedReader(counter, 1 << 20), member.file_size, counter
        return
    if magic.startswith(b"\x1f\x8b"):
        raise SireneFileError(f"{path}: gzip files are not supported, use the CSV or the .zip")
    with path.open("rb") as raw:
        counter = _CountingReader(raw)
        yield io.BufferedReader(counter, 1 << 20), size, counter


def _pick_member(path: Path, archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    csvs = [i for i in archive.infolist() if i.filename.lower().endswith(".csv")]
    if len(csvs) > 1:
        stock = [i for i in csvs if "stocketablissement" in i.filename.lower()
                 and "historique" not in i.filename.lower()]
        csvs = stock or csvs
    if len(csvs) != 1:
        names = ", ".join(i.filename for i in archive.infolist()) or "nothing"
        raise SireneFileError(
            f"{path}: expected one StockEtablissement CSV in the zip, found {names}"
        )
    return csvs[0]


_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError)
NEWLINE = b"\n"


def _read_header(stream, path) -> list[str]:
    try:
        first = stream.readline(1 << 20)
    except _ZIP_ERRORS as e:
        raise SireneFileError(f"{path}: the zip archive is damaged or truncated ({e})") from None
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SireneFileError(
            f"{path}: not UTF-8 text (byte 0x{first[e.start]:02x} in the first line)"
        ) from None
    if not text.strip():
        raise SireneFileError(f"{path}: the first line is empty, expected the header")
    try:
        header = next(csv.reader([text]))
    except (csv.Error, StopIteration) as e:
        raise SireneFileError(f"{path}: not a CSV file ({e})") from None
    ArrowParser.check_header(header)
    return header


def _chunks(stream, path, size: int = CHUNK_BYTES) -> Iterator[tuple[bytes, int]]:
    """(bytes of whole lines, number of the first line) after the header (line 1)."""
    rest = b""
    line = 2
    while True:
        try:
            block = stream.read(size)
        except _ZIP_ERRORS as e:
            raise SireneFileError(
                f"{path}: the zip archive is damaged or truncated after line {line} ({e})"
            ) from None
        if not block:
            if rest.strip():
                yield rest + b"\n", line
            return
        data = rest + block if rest else block
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        chunk, rest = data[:cut + 1], data[cut + 1:]
        yield chunk, line
        line += chunk.count(b"\n")


# --- Turning rows into directory rows ---------------------------------------------------


@dataclass(frozen=True)
class CommuneInfo:
    code: str
    departement: str
    latitude: float
    longitude: float
    postal_code: str


def load_communes(using: str = "default") -> dict[str, CommuneInfo]:
    from .models import Commune

    return {
        c[0]: CommuneInfo(c[0], c[1], c[2], c[3], c[4].split(" ")[0] if c[4] else "")
        for c in Commune.objects.using(using).values_list(
            "code_insee", "departement", "latitude", "longitude", "postal_codes"
        ).iterator(chunk_size=5000)
    }


def load_naf_labels(using: str = "default") -> dict[str, str]:
    from .models import NafCode

    return dict(NafCode.objects.using(using).values_list("code", "label"))


def name_tokens(search_name: str) -> list[str]:
    """Words of a normalised trade name worth indexing for free-text search."""
    out = []
    for w in search_name.split():
        if len(w) >= 2 and w not in NAME_STOPWORDS and not w.isdigit():
            w = w[:TOKEN_LENGTH]
            if w not in out:
                out.append(w)
    return out[:MAX_TOKENS]


REPETITION = {"B": "bis", "T": "ter", "Q": "quater", "C": "quinquies"}
# Columns the import reads (when the file has them).
USED = (
    "siret", "statutDiffusionEtablissement", "dateDernierTraitementEtablissement",
    "complementAdresseEtablissement", "numeroVoieEtablissement",
    "indiceRepetitionEtablissement", "typeVoieEtablissement", "libelleVoieEtablissement",
    "codePostalEtablissement", "codeCommuneEtablissement", "codePaysEtrangerEtablissement",
    "coordonneeLambertAbscisseEtablissement", "coordonneeLambertOrdonneeEtablissement",
    "etatAdministratifEtablissement", "enseigne1Etablissement", "enseigne2Etablissement",
    "enseigne3Etablissement", "denominationUsuelleEtablissement",
    "activitePrincipaleEtablissement", "nomenclatureActivitePrincipaleEtablissement",
    "activitePrincipaleNAF25Etablissement",
)
_NUMBER = r"^\s*-?[0-9]+(\.[0-9]*)?\s*$"


def _np(array) -> np.ndarray:
    return array.to_numpy(zero_copy_only=False)


def _rows(table: pa.Table):
    return zip(*(column.to_pylist() for column in table.columns), strict=True)


class ArrowParser:
    """Turns chunks of StockEtablissement rows into staged rows, column by column."""

    @staticmethod
    def check_header(header: list[str]) -> None:
        names = [h.strip() for h in header]
        if "siret" not in names:
            raise SireneFileError(
                "not a SIRENE StockEtablissement file: the header has no 'siret' column"
            )
        missing = [c for c in sirene.REQUIRED if c not in names]
        if missing:
            raise SireneFileError(
                "not a usable StockEtablissement file: missing column(s) " + ", ".join(missing)
            )

    def __init__(self, header: list[str], communes: dict[str, CommuneInfo],
                 naf_labels: dict[str, str]):
        self.check_header(header)
        # Unique names for Arrow; the first occurrence of a known column is the one used.
        self.names, seen = [], set()
        for i, h in enumerate(header):
            name = h.strip()
            self.names.append(name if name and name not in seen else f"__column{i}")
            seen.add(name)
        self.ncols = len(self.names)
        self.present = [c for c in USED if c in seen]
        self.index = {n: i for i, n in enumerate(self.names)}
        codes = list(communes)
        self.commune_codes = pa.array(codes, pa.string())
        self.c_lat = np.array([communes[c].latitude for c in codes])
        self.c_lon = np.array([communes[c].longitude for c in codes])
        self.c_postal = pa.array([communes[c].postal_code for c in codes], pa.string())
        self.c_epsg = np.array([sirene.crs_for_departement(communes[c].departement)
                                for c in codes])
        self.c_limit = np.array([MAX_OFFSET_KM_BY_DEPARTEMENT.get(communes[c].departement,
                                                                  MAX_OFFSET_KM) for c in codes])
        self.naf_codes = pa.array(list(naf_labels), pa.string())
        self.naf_label_values = pa.array([v[:255] for v in naf_labels.values()], pa.string())
        types = sirene.street_types()
        self.type_codes = pa.array(list(types), pa.string())
        self.type_words = pa.array(list(types.values()), pa.string())
        self.rep_codes = pa.array(list(REPETITION), pa.string())
        self.rep_words = pa.array(list(REPETITION.values()), pa.string())
        self.stopwords = pa.array(sorted(NAME_STOPWORDS), pa.string())
        self.read_options = pacsv.ReadOptions(column_names=self.names, use_threads=True,
                                              block_size=1 << 20)
        self.convert_options = pacsv.ConvertOptions(
            column_types=dict.fromkeys(self.present, pa.string()),
            include_columns=self.present, strings_can_be_null=False,
            quoted_strings_can_be_null=False, check_utf8=True,
        )

    # -- reading a chunk ----------------------------------------------------------------

    def read(self, chunk: bytes, first_line: int, path):
        """A chunk → (table of used columns, line number of each row, rejections)."""
        invalid = []

        def handler(row):
            invalid.append(row)
            return "skip"

        try:
            table = pacsv.read_csv(
                io.BytesIO(chunk), read_options=self.read_options,
                parse_options=pacsv.ParseOptions(invalid_row_handler=handler),
                convert_options=self.convert_options,
            )
        except pa.ArrowInvalid as e:
            if "UTF8" in str(e) or "UTF-8" in str(e):
                last = first_line + chunk.count(NEWLINE) - 1
                raise SireneFileError(
                    f"{path}: not UTF-8 text (between lines {first_line} and {last})"
                ) from None
            table = None
        if table is not None and not invalid and table.num_rows == chunk.count(b"\n"):
            return table, np.arange(first_line, first_line + table.num_rows), []
        return self._read_slowly(chunk, first_line, path)

    def _read_slowly(self, chunk: bytes, first_line: int, path):
        """Python's csv module on an unusual chunk: exact line numbers for every row."""
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as e:
            line = first_line + chunk.count(b"\n", 0, e.start)
            raise SireneFileError(
                f"{path}: not UTF-8 text (byte 0x{chunk[e.start]:02x} at line {line})"
            ) from None
        reader = csv.reader(io.StringIO(text, newline=""))
        wanted = [self.index[c] for c in self.present]
        columns: list[list[str]] = [[] for _ in wanted]
        lines, rejections = [], []
        i_siret = self.index["siret"]
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                rejections.append(Rejection(first_line + reader.line_num - 1, "",
                                            f"unreadable row ({e})"))
                continue
            line = first_line + reader.line_num - 1
            if len(row) != self.ncols:
                if len(row) == 0 or (len(row) == 1 and not row[0].strip()):
                    continue
                siret = row[i_siret].strip()[:40] if i_siret < len(row) else ""
                what = "too few" if len(row) < self.ncols else "too many"
                rejections.append(Rejection(line, siret,
                                            f"{what} fields ({len(row)} of {self.ncols})"))
                continue
            for column, i in zip(columns, wanted, strict=True):
                column.append(row[i].replace("\x00", ""))
            lines.append(line)
        table = pa.table({c: pa.array(col, pa.string())
                          for c, col in zip(self.present, columns, strict=True)})
        return table, np.asarray(lines, dtype=np.int64), rejections

    # -- turning rows into staged rows --------------------------------------------------------

    def parse(self, table: pa.Table, lines: np.ndarray):
        """Returns (staged rows, token rows) as Arrow tables, and rejections."""
        n = table.num_rows
        if n == 0:
            return STAGE_SCHEMA.empty_table(), TOKEN_SCHEMA.empty_table(), []
        table = single_line(table)
        empty = pa.array([""] * n, pa.string()) if len(self.present) < len(USED) else None

        def col(name, t=table):
            return t.column(name) if name in t.column_names else empty[:t.num_rows]

        def clean(a):
            a = pc.replace_substring(a, sirene.ND, "")
            return pc.utf8_trim_whitespace(a)

        def flags(a) -> np.ndarray:
            return np.asarray(a.to_numpy(zero_copy_only=False), dtype=bool)

        siret = pc.utf8_trim_whitespace(col("siret"))
        state = pc.utf8_trim_whitespace(col("etatAdministratifEtablissement"))
        siret_ok = flags(pc.match_substring_regex(siret, r"^[0-9]{14}$"))
        closed = flags(pc.equal(state, sirene.CLOSED))
        active = flags(pc.equal(state, sirene.ACTIVE))
        code = pc.utf8_trim_whitespace(col("codeCommuneEtablissement"))
        cidx = pc.index_in(code, value_set=self.commune_codes)
        known = flags(pc.is_valid(cidx))
        no_code = flags(pc.or_(pc.equal(code, ""), pc.equal(code, sirene.ND)))
        foreign = flags(pc.not_equal(clean(col("codePaysEtrangerEtablissement")), ""))
        uncovered = np.zeros(n, dtype=bool)
        for prefix in sirene.UNCOVERED_COMMUNE_PREFIXES:
            uncovered |= flags(pc.starts_with(code, prefix))
        statut = pc.utf8_trim_whitespace(col("statutDiffusionEtablissement"))
        diffusible = flags(pc.is_in(statut, value_set=pa.array(["O", "P", ""])))

        act = siret_ok & active
        abroad = act & ~known & ((no_code & foreign) | uncovered)
        rejections: list[Rejection] = []
        for mask, reason in ((~siret_ok, "siret"), (siret_ok & ~closed & ~active, "state"),
                             (act & ~known & ~abroad & no_code, "none"),
                             (act & ~known & ~abroad & ~no_code, "unknown")):
            if not mask.any():
                continue
            where = pa.array(mask)
            for line, s, st, c in zip(lines[mask].tolist(), siret.filter(where).to_pylist(),
                                      state.filter(where).to_pylist(),
                                      code.filter(where).to_pylist(), strict=True):
                if reason == "siret":
                    rejections.append(Rejection(line, s[:40], "SIRET is not 14 digits"))
                elif reason == "state":
                    rejections.append(Rejection(
                        line, s, f"unknown etatAdministratifEtablissement {st[:10]!r}"))
                elif reason == "none":
                    rejections.append(Rejection(line, s, "no commune"))
                else:
                    rejections.append(Rejection(line, s, f"unknown commune {c[:10]!r}"))

        withdraw = (siret_ok & closed) | abroad | (act & known & ~diffusible)
        tables = []
        if withdraw.any():
            w = pa.array(withdraw)
            ids = siret.filter(w)
            m = len(ids)
            blank = pa.array([""] * m, pa.string())
            tables.append(pa.Table.from_arrays([
                ids, pa.array(lines[withdraw]), pa.array([WITHDRAW] * m, pa.string()),
                pc.utf8_slice_codeunits(ids, 0, 9), blank, blank, blank, blank, blank,
                pa.nulls(m, pa.string()), blank, blank, pa.array(["O"] * m, pa.string()),
                pa.nulls(m, pa.float64()), pa.nulls(m, pa.float64()), blank, blank,
            ], schema=STAGE_SCHEMA))
        keep = act & known & diffusible
        tokens = TOKEN_SCHEMA.empty_table()
        if keep.any():
            kept, tokens = self._keep(table, keep, siret, code, cidx, lines, col, clean)
            tables.append(kept)
        staged = pa.concat_tables(tables) if tables else STAGE_SCHEMA.empty_table()
        return staged, tokens, rejections

    def _keep(self, table, keep, siret, code, cidx, lines, col, clean):
        """Directory rows for the active establishments in France."""
        k = pa.array(keep)
        t = table.filter(k)
        m = t.num_rows
        ids = siret.filter(k)
        keep_lines = lines[keep]
        ci = cidx.filter(k).to_numpy(zero_copy_only=False).astype(np.int64)
        statut = pc.utf8_trim_whitespace(col("statutDiffusionEtablissement", t))
        partial = np.asarray(pc.equal(statut, sirene.PARTIALLY_DIFFUSIBLE)
                             .to_numpy(zero_copy_only=False), dtype=bool)

        # Name: enseigne, dénomination usuelle, other enseignes; the activity otherwise.
        def nullify(a):
            a = pc.utf8_slice_codeunits(clean(a), 0, 255)
            return pc.if_else(pc.equal(a, ""), pa.scalar(None, pa.string()), a)

        name = pc.coalesce(*(nullify(col(c, t)) for c in (
            "enseigne1Etablissement", "denominationUsuelleEtablissement",
            "enseigne2Etablissement", "enseigne3Etablissement")))
        named = pc.is_valid(name)
        naf_code = pc.utf8_slice_codeunits(clean(col("activitePrincipaleEtablissement", t)), 0, 8)
        label = pc.take(self.naf_label_values, pc.index_in(naf_code, value_set=self.naf_codes))
        by_siret = pc.binary_join_element_wise(
            "Établissement", pc.utf8_slice_codeunits(ids, 0, 3),
            pc.utf8_slice_codeunits(ids, 3, 6), pc.utf8_slice_codeunits(ids, 6, 9),
            pc.utf8_slice_codeunits(ids, 9, 14), " ")
        search_name = pc.if_else(named, _normalise(pc.fill_null(name, "")), "")
        name = pc.coalesce(name, label, by_siret)

        # Address, never for partially diffusible rows nor rows with masked parts.
        parts = [col(c, t) for c in ("numeroVoieEtablissement", "indiceRepetitionEtablissement",
                                     "typeVoieEtablissement", "libelleVoieEtablissement",
                                     "complementAdresseEtablissement")]
        for part in parts:
            partial |= np.asarray(pc.match_substring(part, sirene.ND)
                                  .to_numpy(zero_copy_only=False), dtype=bool)
        num, ind, typ, voie, compl = (pc.utf8_trim_whitespace(p) for p in parts)
        ind = pc.coalesce(pc.take(self.rep_words, pc.index_in(pc.utf8_upper(ind),
                                                              value_set=self.rep_codes)), ind)
        ind = pc.if_else(pc.equal(num, ""), "", ind)
        typ = pc.coalesce(pc.take(self.type_words, pc.index_in(pc.utf8_upper(typ),
                                                               value_set=self.type_codes)), typ)
        words = [pc.if_else(pc.equal(w, ""), pa.scalar(None, pa.string()), w)
                 for w in (num, ind, typ, voie)]
        street = pc.binary_join_element_wise(*words, " ", null_handling="skip")
        with_compl = pc.binary_join_element_wise(compl, street, ", ")
        address = pc.if_else(pc.equal(compl, ""), street, with_compl)
        address = pc.if_else(pc.equal(voie, ""), "", address)
        address = pc.utf8_slice_codeunits(pc.if_else(pa.array(partial), "", address), 0, 255)

        postal = pc.utf8_trim_whitespace(col("codePostalEtablissement", t))
        postal = pc.if_else(pc.match_substring_regex(postal, r"^[0-9]{5}$"), postal,
                            pc.take(self.c_postal, pa.array(ci)))

        # Coordinates: SIRENE's when readable and plausible, the commune's point otherwise.
        lat, lon = self.c_lat[ci].copy(), self.c_lon[ci].copy()
        from_sirene = np.zeros(m, dtype=bool)
        xs, ys = col("coordonneeLambertAbscisseEtablissement", t), col(
            "coordonneeLambertOrdonneeEtablissement", t)
        readable = np.asarray(pc.and_(pc.match_substring_regex(xs, _NUMBER),
                                      pc.match_substring_regex(ys, _NUMBER))
                              .to_numpy(zero_copy_only=False), dtype=bool) & ~partial
        if readable.any():
            x = np.full(m, np.nan)
            y = np.full(m, np.nan)
            r = pa.array(readable)
            x[readable] = _np(pc.cast(pc.utf8_trim_whitespace(xs.filter(r)), pa.float64()))
            y[readable] = _np(pc.cast(pc.utf8_trim_whitespace(ys.filter(r)), pa.float64()))
            epsg = self.c_epsg[ci]
            limit = self.c_limit[ci]
            for code_epsg in np.unique(epsg[readable]).tolist():
                sel = readable & (epsg == code_epsg)
                plon, plat = sirene.to_wgs84(code_epsg).transform(x[sel], y[sel])
                dy = (plat - lat[sel]) * 111.2
                dx = (plon - lon[sel]) * 111.2 * np.cos(np.radians(lat[sel]))
                offset = np.sqrt(dx * dx + dy * dy)
                ok = np.isfinite(offset) & (offset <= limit[sel])
                where = np.flatnonzero(sel)[ok]
                lat[where] = np.round(plat[ok], 6)
                lon[where] = np.round(plon[ok], 6)
                from_sirene[where] = True

        def small(name, size):
            return pc.utf8_slice_codeunits(clean(col(name, t)), 0, size)

        staged = pa.Table.from_arrays([
            ids, pa.array(keep_lines), pa.array([KEEP] * m, pa.string()),
            pc.utf8_slice_codeunits(ids, 0, 9), name, search_name, naf_code,
            small("nomenclatureActivitePrincipaleEtablissement", 8),
            small("activitePrincipaleNAF25Etablissement", 8),
            code.filter(k), postal, address,
            pa.array(np.where(partial, "P", "O"), pa.string()), pa.array(lat), pa.array(lon),
            pa.array(np.where(from_sirene, "sirene", "commune"), pa.string()),
            small("dateDernierTraitementEtablissement", 19),
        ], schema=STAGE_SCHEMA)
        return staged, self._tokens(ids, keep_lines, search_name, lat, lon)

    def _tokens(self, ids, lines, search_name, lat, lon) -> pa.Table:
        words = pc.split_pattern(search_name, " ")
        flat = pc.list_flatten(words)
        parent = pc.list_parent_indices(words)
        good = pc.and_(
            pc.and_(pc.greater_equal(pc.utf8_length(flat), 2),
                    pc.invert(pc.is_in(flat, value_set=self.stopwords))),
            pc.invert(pc.match_substring_regex(flat, r"^[0-9]+$")))
        tokens = pc.utf8_slice_codeunits(flat.filter(good), 0, TOKEN_LENGTH)
        parent = parent.filter(good)
        table = pa.Table.from_arrays(
            [pc.take(ids, parent), pc.take(pa.array(lines), parent), tokens,
             pc.take(pa.array(lat), parent), pc.take(pa.array(lon), parent)],
            schema=TOKEN_SCHEMA)
        # One row per (establishment, word): a word repeated in a name counts once.
        return (table.group_by(list(TOKEN_SCHEMA.names), use_threads=False).aggregate([])
                .select(list(TOKEN_SCHEMA.names)))


STAGE_SCHEMA = pa.schema([
    ("siret", pa.string()), ("line", pa.int64()), ("state", pa.string()),
    ("siren", pa.string()), ("name", pa.string()), ("search_name", pa.string()),
    ("naf_code", pa.string()), ("naf_nomenclature", pa.string()),
    ("naf25_code", pa.string()), ("commune_id", pa.string()), ("postal_code", pa.string()),
    ("address", pa.string()), ("diffusion", pa.string()), ("latitude", pa.float64()),
    ("longitude", pa.float64()), ("geo_source", pa.string()),
    ("sirene_updated_at", pa.string()),
])
TOKEN_SCHEMA = pa.schema([("siret", pa.string()), ("line", pa.int64()),
                          ("token", pa.string()), ("latitude", pa.float64()),
                          ("longitude", pa.float64())])
STAGED_TOKEN_COLUMNS = ("siret", "line", "token")  # what the stage keeps of a token row
assert tuple(STAGE_SCHEMA.names) == STAGE_COLUMNS


# Control characters — C0 and C1 (CR, LF, TAB, NUL, NEL…), the Unicode line and paragraph
# separators — never reach the directory: a name with a line break breaks every email
# header it is put in (Django refuses it: BadHeaderError), and a page or a CSV export
# shows it as a broken line. Each run of them, with the spaces around it, becomes one
# space; invisible format characters (zero-width, bidirectional overrides, soft hyphen)
# are dropped; then every value is trimmed. Keep in step with relais.core.text.
_CONTROL_RUN = r"[ \p{Cc}\p{Zl}\p{Zp}]*[\p{Cc}\p{Zl}\p{Zp}][ \p{Cc}\p{Zl}\p{Zp}]*"
_CONTROL = r"[\p{Cc}\p{Zl}\p{Zp}]"
_FORMAT = r"\p{Cf}"


def single_line(table: pa.Table) -> pa.Table:
    """Every column of read rows on one line, without control characters, trimmed.

    (Columns are trimmed again where they are used; a column of printable text, nearly
    all of them, is left as it is here: the regular expressions only run on the columns
    of a chunk that need them.)
    """
    columns = []
    for column in table.columns:
        if not _printable_ascii(column) and not pc.all(pc.utf8_is_printable(column)).as_py():
            if pc.any(pc.match_substring_regex(column, _CONTROL)).as_py():
                column = pc.replace_substring_regex(column, _CONTROL_RUN, " ")
            if pc.any(pc.match_substring_regex(column, _FORMAT)).as_py():
                column = pc.replace_substring_regex(column, _FORMAT, "")
            column = pc.utf8_trim_whitespace(column)
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def _printable_ascii(column: pa.ChunkedArray) -> bool:
    """True when every byte of the column's text is printable ASCII (0x20–0x7E): most
    columns (SIRET, codes, dates, numbers), checked with numpy on Arrow's buffers
    rather than character by character. False only means "look closer"."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return False
    for chunk in column.chunks:
        data = chunk.buffers()[2]
        if data is None:
            continue
        raw = np.frombuffer(data, dtype=np.uint8)
        if ((raw < 0x20) | (raw > 0x7E)).any():
            return False
    return True


_SEPARATORS = r"[-'’_,.;:/()\"\s]+"  # runs of punctuation and whitespace


def _normalise(names):
    """reference.normalise(), column-wise: lower case, no accents, single spaces."""
    text = pc.utf8_normalize(names, "NFKD")
    text = pc.replace_substring_regex(text, r"\p{Mn}", "")
    text = pc.utf8_lower(text)
    text = pc.replace_substring_regex(text, _SEPARATORS, " ")
    return pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(text), 0, 255)


@dataclass(frozen=True)
class _Copy:
    """Rows encoded for PostgreSQL's binary COPY (in a parsing thread, off the writer's
    path)."""

    columns: tuple[str, ...]
    data: bytes


def _encode(vendor: str, table: pa.Table):
    """What _append takes: PostgreSQL's binary COPY format on PostgreSQL (pgpq, from the
    Arrow columns: the server neither parses CSV nor reads numbers from text, about 40 %
    less of its time than COPY from CSV); the Arrow table on SQLite (its rows become
    Python tuples in the writing thread, where executemany reads them)."""
    if vendor != "postgresql" or not table.num_rows:
        return table
    encoder = pgpq.ArrowToPostgresBinaryEncoder(table.schema)
    parts = [encoder.write_header()]
    parts += [encoder.write_batch(batch) for batch in table.to_batches()]
    parts.append(encoder.finish())
    return _Copy(tuple(table.column_names), b"".join(parts))


def _append(cursor, name: str, rows, constants: dict[str, str] | None = None) -> None:
    """Append rows (from _encode) to the SQL table ``name`` (same column names, same
    types: text, double precision, bigint): binary COPY on PostgreSQL, one executemany
    on SQLite. ``constants`` (SQLite only): more columns, each with one SQL literal for
    every row."""
    if isinstance(rows, _Copy):
        assert not constants, "COPY takes no constants: give the columns a default"
        columns = ", ".join(rows.columns)
        with cursor.cursor.copy(f"COPY {name} ({columns}) FROM STDIN WITH (FORMAT binary)") as cp:
            cp.write(rows.data)
    elif rows.num_rows:
        constants = constants or {}
        columns = ", ".join([*rows.column_names, *constants])
        values = ", ".join(["%s"] * rows.num_columns + list(constants.values()))
        cursor.executemany(f"INSERT INTO {name} ({columns}) VALUES ({values})", _rows(rows))


class _Stage:
    """Temporary tables on the import's connection."""

    def __init__(self, using: str):
        self.using = using
        self.connection = connections[using]
        self.vendor = self.connection.vendor

    def create(self) -> None:
        with self.connection.cursor() as cursor:
            self._drop(cursor)
            if self.vendor == "postgresql":
                cursor.execute("SET work_mem = '256MB'")
            else:
                cursor.execute("PRAGMA cache_size = -200000")
                cursor.execute("PRAGMA temp.cache_size = -200000")
            from .models import CodeField

            code = CodeField.collate(self.connection)  # as the directory's columns
            cursor.execute(f"CREATE TEMP TABLE {STAGE} ({self._columns(code)})")
            cursor.execute(f"CREATE TEMP TABLE {TOKENS} (siret varchar(14){code}, "
                           f"line bigint, token varchar(32){code})")

    def _columns(self, code: str) -> str:
        text = "text" if self.vendor == "postgresql" else "TEXT"
        real = "double precision" if self.vendor == "postgresql" else "REAL"
        line = "bigint" if self.vendor == "postgresql" else "INTEGER"  # Arrow's int64
        types = {"line": line, "latitude": real, "longitude": real, "siret": text + code}
        return ", ".join(f"{c} {types.get(c, text)}" for c in STAGE_COLUMNS)

    def prepare(self, staged: pa.Table, tokens: pa.Table) -> list:
        """(table, rows) to write for one parsed chunk (run in a parsing thread)."""
        return [(STAGE, _encode(self.vendor, staged)),
                (TOKENS, _encode(self.vendor, tokens.select(list(STAGED_TOKEN_COLUMNS))))]

    def write(self, batch: list) -> None:
        with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
            for name, rows in batch:
                _append(cursor, name, rows)

    phase = "merge"

    def load(self, batches, on_phase) -> dict[str, int]:
        """Stage every batch, then merge; the temporary tables are dropped either way."""
        self.create()
        try:
            for batch in batches:
                self.write(batch)
            if on_phase:
                on_phase(self.phase)
            self.finish_loading()
            return self.merge()
        finally:
            self.drop()

    def finish_loading(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(f"CREATE INDEX {STAGE}_siret ON {STAGE} (siret, line)")
            cursor.execute(f"CREATE INDEX {TOKENS}_siret ON {TOKENS} (siret, line)")

    def drop(self) -> None:
        with self.connection.cursor() as cursor:
            self._drop(cursor)

    def _drop(self, cursor) -> None:
        for table in (STAGE, MERGED, TOKENS):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")

    @staticmethod
    def _indexes() -> list[tuple[str, str]]:
        """(name, columns) of the directory table's secondary indexes (Meta.indexes)."""
        from .models import Establishment

        meta = Establishment._meta
        return [(index.name, ", ".join(meta.get_field(f).column for f in index.fields))
                for index in meta.indexes]

    @staticmethod
    def _fewer_rows_than(cursor, count: int) -> bool:
        cursor.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM directory_establishment LIMIT %s) AS t",
            [count],
        )
        return cursor.fetchone()[0] < count

    def merge(self) -> dict[str, int]:
        """Apply the stage to the directory in one transaction; counts by outcome."""
        est = ESTABLISHMENTS
        now = self.connection.ops.adapt_datetimefield_value(timezone.now())
        # Only the last occurrence of each SIRET in the file counts.
        last = f"NOT EXISTS (SELECT 1 FROM {STAGE} d WHERE d.siret = s.siret AND d.line > s.line)"
        same = " AND ".join(f"e.{c} = s.{c}" for c in COMPARED)
        staged = ", ".join(f"s.{c}" for c in STAGE_COLUMNS)
        cols = ", ".join(COMPARED)
        sets = ", ".join(f"{c} = s.{c}" for c in COMPARED)
        with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
            cursor.execute(
                f"""CREATE TEMP TABLE {MERGED} AS SELECT {staged}, CASE
                    WHEN s.state = %s THEN CASE
                        WHEN e.siret IS NULL THEN 'created'
                        WHEN e.active = %s AND {same} THEN 'unchanged'
                        ELSE 'updated' END
                    ELSE CASE
                        WHEN e.siret IS NULL THEN 'skipped'
                        WHEN e.active = %s THEN 'deactivated'
                        ELSE 'unchanged' END
                    END AS status
                FROM {STAGE} s LEFT JOIN {est} e ON e.siret = s.siret WHERE {last}""",
                [KEEP, True, True],
            )
            cursor.execute(f"CREATE INDEX {MERGED}_siret ON {MERGED} (siret, line)")
            cursor.execute(f"SELECT COUNT(*) FROM {MERGED} WHERE status = 'created'")
            created = cursor.fetchone()[0]
            # A first load (the directory small next to what arrives): building the
            # secondary indexes once at the end is much faster than row by row.
            rebuild = created > BULK_LOAD_ROWS and self._fewer_rows_than(cursor, created // 2)
            if rebuild:
                for index in self._indexes():
                    cursor.execute(f"DROP INDEX {index[0]}")
            cursor.execute(
                f"INSERT INTO {est} (siret, {cols}, active, created_at, updated_at) "
                f"SELECT siret, {cols}, %s, %s, %s FROM {MERGED} WHERE status = 'created' "
                "ORDER BY siret",
                [True, now, now],
            )
            if rebuild:
                for name, columns in self._indexes():
                    cursor.execute(f"CREATE INDEX {name} ON {est} ({columns})")
            cursor.execute(
                f"UPDATE {est} SET {sets}, active = %s, updated_at = %s "
                f"FROM {MERGED} AS s WHERE s.siret = {est}.siret AND s.status = 'updated'",
                [True, now],
            )
            cursor.execute(
                f"UPDATE {est} SET active = %s, updated_at = %s WHERE siret IN "
                f"(SELECT siret FROM {MERGED} WHERE status = 'deactivated')",
                [False, now],
            )
            cursor.execute(
                "DELETE FROM directory_nametoken WHERE siret IN (SELECT siret FROM "
                f"{MERGED} WHERE status IN ('created', 'updated', 'deactivated'))"
            )
            cursor.execute(
                "INSERT INTO directory_nametoken (token, latitude, longitude, siret) "
                f"SELECT t.token, s.latitude, s.longitude, t.siret FROM {TOKENS} t "
                f"JOIN {MERGED} s ON s.siret = t.siret AND s.line = t.line "
                "WHERE s.status IN ('created', 'updated') "
                "ORDER BY t.token, s.latitude, s.longitude, t.siret"
            )
            cursor.execute(f"SELECT status, COUNT(*) FROM {MERGED} GROUP BY status")
            return dict(cursor.fetchall())


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _NotAFirstLoad(Exception):
    """The first load cannot go on — a SIRET named twice (only stage and merge know
    which row wins), rows arrived meanwhile, or its tables stayed busy: rolled back."""


def _repeated_key(error: Exception) -> bool:
    """Whether a database error is a key given twice (PostgreSQL's unique_violation,
    SQLite's primary key or unique constraint), not another broken constraint."""
    cause = error.__cause__ if isinstance(error, IntegrityError) else error
    if getattr(cause, "sqlstate", None) == "23505":
        return True
    return getattr(cause, "sqlite_errorcode", None) in (
        sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE)


class _FirstLoad:
    """Loading an empty directory: each parsed chunk goes straight to the directory.

    With nothing to compare against, staging and merging would only copy every row
    twice more. Chunks are appended to the establishments and the name index as they
    are parsed (COPY on PostgreSQL, so the server writes one chunk while the next is
    parsed), in **one transaction** — a file that turns out bad halfway rolls it all
    back, the directory stays empty —, with the secondary indexes (and on PostgreSQL the
    keys: both tables' primary keys, the foreign keys to the establishments) dropped
    first and built once at the end. The tables are held meanwhile: locked on
    PostgreSQL (waiting at most FIRST_LOAD_LOCK_WAIT_MS for them, else stage and merge),
    written by no one else on SQLite.

    The one thing this cannot settle is a SIRET named twice in the file (the last
    occurrence wins): the primary key refuses a second active row, and withdrawn
    SIRETs, kept aside, are checked against the loaded ones at the end. Either rolls
    the load back and the import runs again through the stage and merge. INSEE's stock
    names each SIRET once.
    """

    phase = "indexes"

    def __init__(self, using: str):
        self.using = using
        self.connection = connections[using]
        self.vendor = self.connection.vendor
        # The columns every new row shares, as SQL literals (this module's own values):
        # a default for COPY on PostgreSQL, constants in the INSERT on SQLite.
        now = timezone.now().isoformat() if self.vendor == "postgresql" else \
            self.connection.ops.adapt_datetimefield_value(timezone.now())
        self.shared = {"active": "true" if self.vendor == "postgresql" else "1",
                       "created_at": f"'{now}'", "updated_at": f"'{now}'"}
        self.keys: list[tuple[str, str, str]] = []  # (table, name, definition)

    @staticmethod
    def applies(using: str) -> bool:
        from .models import Establishment, NameToken

        return not (Establishment.objects.using(using).exists()
                    or NameToken.objects.using(using).exists())

    def load(self, batches, on_phase) -> dict[str, int]:
        try:
            with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
                self._begin(cursor)
                # The columns all rows share: defaults on PostgreSQL, constants on SQLite.
                shared = None if self.vendor == "postgresql" else self.shared
                for batch in batches:
                    for name, rows in batch:
                        _append(cursor, name, rows,
                                shared if name == ESTABLISHMENTS else None)
                if on_phase:
                    on_phase(self.phase)
                return self._finish(cursor)
        except (IntegrityError, self.connection.Database.IntegrityError) as e:
            if _repeated_key(e):  # rolled back
                raise _NotAFirstLoad("a SIRET named twice") from e
            raise  # any other broken constraint is a bug: loading again would not help

    def _begin(self, cursor) -> None:
        from .models import CodeField

        cursor.execute(f"DROP TABLE IF EXISTS {WITHDRAWN}")
        cursor.execute(f"CREATE TEMP TABLE {WITHDRAWN} (siret varchar(14)"
                       f"{CodeField.collate(self.connection)})")
        if self.vendor == "postgresql":
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            # The tables are locked from here to the commit (search and listings wait):
            # if a reader holds them longer than this, stage and merge instead.
            cursor.execute(f"SET LOCAL lock_timeout = {int(FIRST_LOAD_LOCK_WAIT_MS)}")
            try:
                self._drop_keys(cursor)
            except OperationalError as e:
                if getattr(e.__cause__, "sqlstate", None) == "55P03":  # lock_not_available
                    raise _NotAFirstLoad("the directory's tables are in use") from e
                raise
            cursor.execute("SET LOCAL lock_timeout TO DEFAULT")
        else:
            cursor.execute("PRAGMA cache_size = -200000")
        # Checked again now that no one else can write (tables locked on PostgreSQL,
        # BEGIN IMMEDIATE on SQLite): rows may have come since applies().
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {ESTABLISHMENTS}) "
                       f"OR EXISTS (SELECT 1 FROM {NAMETOKEN})")
        if cursor.fetchone()[0]:
            raise _NotAFirstLoad("the directory is no longer empty")
        for name, _columns in _Stage._indexes():
            cursor.execute(f"DROP INDEX {name}")

    def _drop_keys(self, cursor) -> None:
        """Keys are cheaper built once at the end than row by row (PostgreSQL): the two
        tables' primary keys go, with the foreign keys that point at the establishments',
        and come back in _finish from their own definitions."""
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE (contype = 'f' AND confrelid = %s::regclass) "
            "OR (contype = 'p' AND conrelid IN (%s::regclass, %s::regclass)) "
            "ORDER BY contype = 'p', conrelid::regclass::text, conname",
            [ESTABLISHMENTS, ESTABLISHMENTS, NAMETOKEN],
        )
        self.keys = cursor.fetchall()  # foreign keys first, then primary keys
        for table, name, _definition in self.keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
        cursor.execute(f"ALTER TABLE {ESTABLISHMENTS} " + ", ".join(
            f"ALTER COLUMN {c} SET DEFAULT {v}" for c, v in self.shared.items()))

    def prepare(self, staged: pa.Table, tokens: pa.Table) -> list:
        """(table, rows) to write for one parsed chunk (run in a parsing thread)."""
        keep = pc.equal(staged.column("state"), KEEP)
        kept = staged.filter(keep).select(["siret", *COMPARED])
        withdrawn = staged.filter(pc.invert(keep)).select(["siret"])
        words = tokens.select(["token", "latitude", "longitude", "siret"])
        return [(ESTABLISHMENTS, _encode(self.vendor, kept)),
                (WITHDRAWN, _encode(self.vendor, withdrawn)),
                (NAMETOKEN, _encode(self.vendor, words))]

    def _finish(self, cursor) -> dict[str, int]:
        if self.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {ESTABLISHMENTS} " + ", ".join(
                f"ALTER COLUMN {c} DROP DEFAULT" for c in self.shared))
            # Primary keys first (a SIRET twice fails here: IntegrityError, rolled back),
            # then the foreign keys that need them.
            for table, name, definition in reversed(self.keys):
                cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")
        # A SIRET both loaded and withdrawn was named twice (looked up in the key).
        cursor.execute(f"SELECT 1 FROM {WITHDRAWN} w WHERE EXISTS (SELECT 1 FROM "
                       f"{ESTABLISHMENTS} e WHERE e.siret = w.siret) LIMIT 1")
        if cursor.fetchone():
            raise _NotAFirstLoad("a SIRET named twice")
        for name, columns in _Stage._indexes():
            cursor.execute(f"CREATE INDEX {name} ON {ESTABLISHMENTS} ({columns})")
        cursor.execute(f"SELECT COUNT(*) FROM {ESTABLISHMENTS}")
        created = cursor.fetchone()[0]
        cursor.execute(f"SELECT COUNT(DISTINCT siret) FROM {WITHDRAWN}")
        skipped = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE {WITHDRAWN}")
        return {"created": created, "skipped": skipped}


# --- The import -----------------------------------------------------------------------------


def import_sirene(
    path: Path | str,
    *,
    using: str = "default",
    progress: bool | None = None,
    on_rejection: Callable[[Rejection], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> ImportResult:
    """Import a StockEtablissement file; see the module docstring.

    ``progress``: True shows a progress bar, False hides it, None shows it on a
    terminal. ``on_rejection`` receives every rejected row (the result keeps the
    first KEEP_REJECTIONS). Raises SireneFileError when the file cannot be imported;
    the directory is then unchanged.
    """
    started = timezone.now()
    if _FirstLoad.applies(using):
        reported = 0  # line of the last rejection handed to on_rejection

        def report(rejection: Rejection) -> None:
            nonlocal reported
            reported = rejection.line
            if on_rejection:
                on_rejection(rejection)

        def report_rest(rejection: Rejection) -> None:  # rejections come in file order
            if rejection.line > reported and on_rejection:
                on_rejection(rejection)

        try:
            out, counts = _load(path, _FirstLoad(using), progress, report, on_phase,
                                chunk_bytes)
        except _NotAFirstLoad:
            # Rolled back: the file again through stage and merge; the rejections already
            # reported are not reported twice.
            out, counts = _load(path, _Stage(using), progress, report_rest, on_phase,
                                chunk_bytes)
    else:
        out, counts = _load(path, _Stage(using), progress, on_rejection, on_phase,
                            chunk_bytes)
    # Bulk SQL sends no model signal: tell the apps that follow establishments (the
    # routing index, for those that closed or moved).
    signals.establishments_changed.send(sender=import_sirene, using=using,
                                        kind="sirene-import", counts=dict(counts))
    out.created = counts.get("created", 0)
    out.updated = counts.get("updated", 0)
    out.unchanged = counts.get("unchanged", 0)
    out.deactivated = counts.get("deactivated", 0)
    out.skipped = counts.get("skipped", 0)
    out.seconds = (timezone.now() - started).total_seconds()
    return out


def _load(path, sink, progress, on_rejection, on_phase, chunk_bytes):
    """Read, check and parse the file, handing its rows to ``sink`` (a _Stage or a
    _FirstLoad); returns (the result so far, the sink's counts by outcome)."""
    from tqdm import tqdm

    collector = ResultCollector(on_rejection)
    with open_stock(Path(path)) as (stream, total, counter):
        header = _read_header(stream, path)  # a wrong file stops here, before the database
        parser = ArrowParser(header, load_communes(sink.using), load_naf_labels(sink.using))
        bar = tqdm(total=total, unit="B", unit_scale=True, desc="SIRENE",
                   disable=None if progress is None else not progress, leave=False)

        def batches():
            with closing(_parsed(stream, path, parser, chunk_bytes, sink.prepare)) as parsed:
                for read, batch, rejections in parsed:
                    collector.read += read
                    collector.add_rejections(rejections)
                    yield batch
                    bar.update(counter.count - bar.n)

        # Closed whatever happens, so the parsing threads stop before this returns or
        # raises (and before a fallback reads the file again).
        with bar, closing(batches()) as rows:
            counts = sink.load(rows, on_phase)
    return collector.result, counts


def _parsed(stream, path, parser: ArrowParser, chunk_bytes: int, prepare: Callable,
            threads: int = PARSE_THREADS):
    """Read chunks in a thread and parse them on ``threads`` others, in order, while the
    caller writes the previous ones.

    Arrow's kernels and pyproj release the GIL, so parsing — and ``prepare(staged,
    tokens)``, which encodes the rows for the database — runs on every core and overlaps
    with the database's work. At most ``threads + 3`` chunks are in memory (queued,
    being parsed, being written), so memory stays bounded. Yields (rows read,
    prepare's result, rejections) in file order.
    """
    pending: queue.Queue = queue.Queue(maxsize=threads + 1)
    stop = threading.Event()
    pool = ThreadPoolExecutor(threads, thread_name_prefix="sirene-parser")

    def parse(chunk: bytes, first_line: int):
        table, lines, rejections = parser.read(chunk, first_line, path)
        staged, tokens, more = parser.parse(table, lines)
        return (table.num_rows + len(rejections), prepare(staged, tokens),
                sorted(rejections + more, key=lambda r: r.line))

    def put(item) -> bool:
        while not stop.is_set():
            try:
                pending.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def read():
        try:
            for chunk, first_line in _chunks(stream, path, chunk_bytes):
                if not put(pool.submit(parse, chunk, first_line)):
                    return
            put(None)
        except BaseException as e:  # handed to the caller's thread
            put(e)

    reader = threading.Thread(target=read, name="sirene-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = pending.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item.result()  # a parsing error is raised here, in file order
    finally:
        stop.set()
        reader.join()
        pool.shutdown(wait=True, cancel_futures=True)


class ResultCollector:
    def __init__(self, on_rejection):
        self.result = ImportResult()
        self.on_rejection = on_rejection

    @property
    def read(self) -> int:
        return self.result.read

    @read.setter
    def read(self, value: int) -> None:
        self.result.read = value

    def add_rejections(self, rejections: list[Rejection]) -> None:
        r = self.result
        for rejection in rejections:
            r.rejected += 1
            r.rejected_by_reason[rejection.reason.split(" (")[0].split(" '")[0]] += 1
            if len(r.rejections) < KEEP_REJECTIONS:
                r.rejections.append(rejection)
            if self.on_rejection:
                self.on_rejection(rejection)


