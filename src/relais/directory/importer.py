# SQL below is assembled from this module's table and column constants only; every
# value travels as a query parameter.
# ruff: noqa: S608
"""Import INSEE's StockEtablissement file into the directory.

Two phases, so that a bad file never changes the directory:

1. **Stage.** The file (CSV or the published .zip, UTF-8) is read as a stream, rows are
   checked and turned into directory rows in batches (coordinates projected with one
   vectorised pyproj call per projection and batch) and written to temporary tables:
   SQLite upserts them on SIRET (so the last occurrence wins), PostgreSQL receives
   them with COPY and keeps the last occurrence afterwards. A fatal problem (not a zip,
   truncated zip, not UTF-8, not a StockEtablissement header) stops here: the
   temporary tables are dropped and the directory is untouched.
2. **Merge.** One transaction compares the staged rows with the directory in SQL,
   marks each one created / updated / unchanged / deactivated / skipped, applies the
   inserts and updates in bulk, and refreshes the name index for the rows that changed.

Memory stays constant whatever the file size: one batch of rows at a time.
"""

import csv
import io
import math
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.db import connections, transaction
from django.utils import timezone

from . import sirene
from .reference import normalise

BATCH_SIZE = 20_000
KEEP_REJECTIONS = 1_000  # rejected rows kept in memory for the summary
STAGE = "relais_import_stage"
STAGE_RAW = "relais_import_raw"
MERGED = "relais_import_merged"
TOKENS = "relais_import_tokens"

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
def open_stock(path: Path) -> Iterator[tuple[io.TextIOBase, int, _CountingReader]]:
    """Open a StockEtablissement CSV or .zip as a text stream.

    Yields (text stream, total bytes, counting reader). Raises SireneFileError for
    files that are not a readable CSV or zip.
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
                yield _text(counter), member.file_size, counter
        return
    if magic.startswith(b"\x1f\x8b"):
        raise SireneFileError(f"{path}: gzip files are not supported, use the CSV or the .zip")
    with path.open("rb") as raw:
        counter = _CountingReader(raw)
        yield _text(counter), size, counter


def _text(counter: _CountingReader) -> io.TextIOWrapper:
    return io.TextIOWrapper(
        io.BufferedReader(counter, buffer_size=1 << 20), encoding="utf-8-sig", newline=""
    )


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
    out = dict.fromkeys(
        w[:TOKEN_LENGTH] for w in search_name.split()
        if len(w) >= 2 and w not in NAME_STOPWORDS and not w.isdigit()
    )
    return list(out)[:MAX_TOKENS]


def fallback_name(siret: str, naf_code: str, naf_labels: dict[str, str]) -> str:
    """The name shown when SIRENE gives no enseigne nor dénomination usuelle.

    StockEtablissement has no legal-unit name (that is StockUniteLegale), so the
    activity stands in; the SIRET when the activity is unknown.
    """
    label = naf_labels.get(naf_code)
    return label[:255] if label else f"Établissement {sirene.format_siret(siret)}"


def _clean(value: str) -> str:
    """A text value without INSEE's [ND] mask, NUL characters and surrounding blanks."""
    if "[ND]" in value:
        value = value.replace(sirene.ND, "")
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value.strip()


REPETITION = {"B": "bis", "T": "ter", "Q": "quater", "C": "quinquies"}


class RowParser:
    """Turns StockEtablissement rows into staged rows, batch by batch."""

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

    def __init__(self, header: list[str], communes: dict, naf_labels: dict):
        self.check_header(header)
        names = [h.strip() for h in header]
        self.ncols = len(names)
        blank = self.ncols  # rows get one empty value appended: missing columns point at it
        position = {}
        for i, n in enumerate(names):
            position.setdefault(n, i)
        self.col = {c: position.get(c, blank) for c in sirene.HEADER}
        self.communes = communes
        self.naf_labels = naf_labels
        self.street_types = sirene.street_types()

    def parse(self, rows: list[tuple[int, list[str]]]):
        """Parse one batch. Returns (staged rows, token rows, rejections, withdrawn)."""
        c = self.col
        i_siret, i_state = c["siret"], c["etatAdministratifEtablissement"]
        i_commune, i_country = c["codeCommuneEtablissement"], c["codePaysEtrangerEtablissement"]
        i_statut = c["statutDiffusionEtablissement"]
        i_names = (c["enseigne1Etablissement"], c["denominationUsuelleEtablissement"],
                   c["enseigne2Etablissement"], c["enseigne3Etablissement"])
        i_naf, i_nom = c["activitePrincipaleEtablissement"], c[
            "nomenclatureActivitePrincipaleEtablissement"]
        i_naf25 = c["activitePrincipaleNAF25Etablissement"]
        i_cp = c["codePostalEtablissement"]
        i_num, i_ind = c["numeroVoieEtablissement"], c["indiceRepetitionEtablissement"]
        i_type, i_voie = c["typeVoieEtablissement"], c["libelleVoieEtablissement"]
        i_compl = c["complementAdresseEtablissement"]
        i_x = c["coordonneeLambertAbscisseEtablissement"]
        i_y = c["coordonneeLambertOrdonneeEtablissement"]
        i_updated = c["dateDernierTraitementEtablissement"]
        ncols = self.ncols
        communes = self.communes
        naf_labels = self.naf_labels
        street_types = self.street_types
        nd = sirene.ND

        staged: list[list] = []
        tokens: list[tuple[str, int, str]] = []
        rejections: list[Rejection] = []
        # Per projection: indexes into `staged`, x, y.
        projected: dict[int, tuple[list[int], list[float], list[float]]] = {}

        for line, row in rows:
            n = len(row)
            if n != ncols:
                if n <= 1 and (n == 0 or not row[0].strip()):
                    continue  # blank line
                siret = row[i_siret].strip() if i_siret < n else ""
                what = "too few" if n < ncols else "too many"
                rejections.append(Rejection(line, siret, f"{what} fields ({n} of {ncols})"))
                continue
            row.append("")
            siret = row[i_siret].strip()
            if len(siret) != 14 or not siret.isdigit():
                rejections.append(Rejection(line, siret[:40], "SIRET is not 14 digits"))
                continue
            state = row[i_state].strip()
            if state == sirene.CLOSED:
                staged.append(_withdrawn(siret, line))
                continue
            if state != sirene.ACTIVE:
                rejections.append(Rejection(
                    line, siret, f"unknown etatAdministratifEtablissement {state[:10]!r}"))
                continue
            code = row[i_commune].strip()
            commune = communes.get(code)
            if commune is None:
                if (not code or code == nd) and row[i_country].strip() not in ("", nd):
                    staged.append(_withdrawn(siret, line))  # abroad
                elif code.startswith(sirene.UNCOVERED_COMMUNE_PREFIXES):
                    staged.append(_withdrawn(siret, line))
                elif not code or code == nd:
                    rejections.append(Rejection(line, siret, "no commune"))
                else:
                    rejections.append(Rejection(line, siret, f"unknown commune {code[:10]!r}"))
                continue
            statut = row[i_statut].strip()
            if statut not in ("O", "P", ""):
                staged.append(_withdrawn(siret, line))  # not diffusible: never published
                continue
            partial = statut == sirene.PARTIALLY_DIFFUSIBLE

            name = ""
            for i in i_names:
                value = row[i]
                if value and value != nd:
                    value = _clean(value)
                    if value:
                        name = value[:255]
                        break
            naf_code = row[i_naf].strip()[:8]
            if naf_code == nd:
                naf_code = ""
            if name:
                search_name = normalise(name)[:255]
                for token in name_tokens(search_name):
                    tokens.append((siret, line, token))
            else:
                search_name = ""
                name = fallback_name(siret, naf_code, naf_labels)

            address = ""
            if not partial:
                parts = (row[i_num], row[i_ind], row[i_type], row[i_voie], row[i_compl])
                if nd in parts:
                    partial = True  # masked despite the status: treat as partial
                else:
                    voie = _clean(parts[3])
                    if voie:
                        num, ind, typ, compl = (_clean(parts[0]), parts[1].strip(),
                                                parts[2].strip(), _clean(parts[4]))
                        words = [num, REPETITION.get(ind.upper(), ind) if num else "",
                                 street_types.get(typ.upper(), typ), voie]
                        address = " ".join(w for w in words if w)
                        if compl:
                            address = f"{compl}, {address}"
                        address = address[:255]

            postal_code = row[i_cp].strip()
            if len(postal_code) != 5 or not postal_code.isdigit():
                postal_code = commune.postal_code

            staged_row = [
                siret, line, KEEP, siret[:9], name, search_name, naf_code,
                _clean(row[i_nom])[:8] if row[i_nom] else "",
                _clean(row[i_naf25])[:8] if row[i_naf25] else "", code, postal_code, address,
                "P" if partial else "O", commune.latitude, commune.longitude, "commune",
                _clean(row[i_updated])[:19] if row[i_updated] else "",
            ]
            staged.append(staged_row)
            if not partial:
                x, y = row[i_x], row[i_y]
                if x and y and x != nd and y != nd:
                    try:
                        fx, fy = float(x), float(y)
                    except ValueError:
                        fx = fy = math.nan
                    if math.isfinite(fx) and math.isfinite(fy):
                        epsg = sirene.crs_for_departement(commune.departement)
                        group = projected.get(epsg)
                        if group is None:
                            group = projected[epsg] = ([], [], [])
                        group[0].append(len(staged) - 1)
                        group[1].append(fx)
                        group[2].append(fy)

        for epsg, (indexes, xs, ys) in projected.items():
            self._project(staged, epsg, indexes, xs, ys)
        return staged, tokens, rejections

    def _project(self, staged, epsg, indexes, xs, ys) -> None:
        """Convert one projection's coordinates in one call; keep plausible points."""
        lon, lat = sirene.to_wgs84(epsg).transform(np.asarray(xs), np.asarray(ys))
        ref_lat = np.fromiter((staged[i][13] for i in indexes), float, len(indexes))
        ref_lon = np.fromiter((staged[i][14] for i in indexes), float, len(indexes))
        dy = (lat - ref_lat) * 111.2
        dx = (lon - ref_lon) * 111.2 * np.cos(np.radians(ref_lat))
        offset = np.sqrt(dx * dx + dy * dy)
        limit = np.fromiter(
            (MAX_OFFSET_KM_BY_DEPARTEMENT.get(self.communes[staged[i][9]].departement,
                                              MAX_OFFSET_KM) for i in indexes),
            float, len(indexes),
        )
        ok = np.isfinite(offset) & (offset <= limit)
        for k in np.flatnonzero(ok).tolist():
            row = staged[indexes[k]]
            row[13] = round(float(lat[k]), 6)
            row[14] = round(float(lon[k]), 6)
            row[15] = "sirene"


def _withdrawn(siret: str, line: int) -> list:
    return [siret, line, WITHDRAW, siret[:9], "", "", "", "", "", None, "", "", "O",
            None, None, "", ""]


# --- Staging ------------------------------------------------------------------------------


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
                cursor.execute(
                    f"CREATE TEMP TABLE {STAGE_RAW} ({self._columns()}, status varchar(12))"
                )
            else:
                cursor.execute("PRAGMA cache_size = -200000")
                cursor.execute("PRAGMA temp.cache_size = -200000")
                cursor.execute(
                    f"CREATE TEMP TABLE {STAGE} ({self._columns()}, status TEXT, "
                    "PRIMARY KEY (siret))"
                )
            cursor.execute(f"CREATE TEMP TABLE {TOKENS} (siret varchar(14), line integer, "
                           "token varchar(32))")

    def _columns(self) -> str:
        text = "varchar(255)" if self.vendor == "postgresql" else "TEXT"
        real = "double precision" if self.vendor == "postgresql" else "REAL"
        types = {"line": "integer", "latitude": real, "longitude": real}
        return ", ".join(f"{c} {types.get(c, text)}" for c in STAGE_COLUMNS)

    def write(self, staged: list[list], tokens: list[tuple]) -> None:
        if not staged and not tokens:
            return
        with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
            if self.vendor == "postgresql":
                pg = cursor.cursor
                with pg.copy(f"COPY {STAGE_RAW} ({', '.join(STAGE_COLUMNS)}) FROM STDIN") as cp:
                    for row in staged:
                        cp.write_row(row)
                with pg.copy(f"COPY {TOKENS} (siret, line, token) FROM STDIN") as cp:
                    for row in tokens:
                        cp.write_row(row)
            else:
                cols = ", ".join(STAGE_COLUMNS)
                marks = ", ".join(["%s"] * len(STAGE_COLUMNS))
                updates = ", ".join(f"{c} = excluded.{c}" for c in STAGE_COLUMNS[1:])
                cursor.executemany(
                    f"INSERT INTO {STAGE} ({cols}) VALUES ({marks}) "
                    f"ON CONFLICT (siret) DO UPDATE SET {updates}",
                    staged,
                )
                cursor.executemany(
                    f"INSERT INTO {TOKENS} (siret, line, token) VALUES (%s, %s, %s)", tokens
                )

    def finish_loading(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(f"CREATE INDEX {TOKENS}_siret ON {TOKENS} (siret, line)")

    def drop(self) -> None:
        with self.connection.cursor() as cursor:
            self._drop(cursor)

    def _drop(self, cursor) -> None:
        for table in (STAGE_RAW, STAGE, MERGED, TOKENS):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")

    def merge(self) -> dict[str, int]:
        """Apply the stage to the directory in one transaction; counts by outcome."""
        est = "directory_establishment"
        now = self.connection.ops.adapt_datetimefield_value(timezone.now())
        if self.vendor == "postgresql":  # the last occurrence of each SIRET
            source = (f"(SELECT DISTINCT ON (siret) * FROM {STAGE_RAW} "
                      "ORDER BY siret, line DESC)")
        else:
            source = STAGE  # already one row per SIRET (upserted)
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
                FROM {source} s LEFT JOIN {est} e ON e.siret = s.siret""",
                [KEEP, True, True],
            )
            cursor.execute(f"CREATE INDEX {MERGED}_siret ON {MERGED} (siret, line)")
            if self.vendor == "postgresql":
                cursor.execute(f"ANALYZE {MERGED}")
            cursor.execute(
                f"INSERT INTO {est} (siret, {cols}, active, created_at, updated_at) "
                f"SELECT siret, {cols}, %s, %s, %s FROM {MERGED} WHERE status = 'created'",
                [True, now, now],
            )
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
                "INSERT INTO directory_nametoken (token, siret) "
                f"SELECT t.token, t.siret FROM {TOKENS} t JOIN {MERGED} s "
                "ON s.siret = t.siret AND s.line = t.line "
                "WHERE s.status IN ('created', 'updated')"
            )
            cursor.execute(f"SELECT status, COUNT(*) FROM {MERGED} GROUP BY status")
            return dict(cursor.fetchall())


# --- The import -----------------------------------------------------------------------------


def import_sirene(
    path: Path | str,
    *,
    using: str = "default",
    batch_size: int = BATCH_SIZE,
    progress: bool | None = None,
    on_rejection: Callable[[Rejection], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> ImportResult:
    """Import a StockEtablissement file; see the module docstring.

    ``progress``: True shows a progress bar, False hides it, None shows it on a
    terminal. ``on_rejection`` receives every rejected row (the result keeps the
    first KEEP_REJECTIONS). Raises SireneFileError when the file cannot be imported;
    the directory is then unchanged.
    """
    from tqdm import tqdm

    started = timezone.now()
    result = ResultCollector(on_rejection)
    stage = _Stage(using)
    with open_stock(Path(path)) as (text, total, counter):
        reader = csv.reader(text)
        header = _header(reader, path)  # a wrong file stops here, before any database work
        parser = RowParser(header, load_communes(using), load_naf_labels(using))
        stage.create()
        try:
            bar = tqdm(total=total, unit="B", unit_scale=True, desc="SIRENE",
                       disable=None if progress is None else not progress, leave=False)
            with bar:
                for staged, tokens, rejections, read in _batches(
                    reader, parser, path, batch_size
                ):
                    result.read += read
                    result.add_rejections(rejections)
                    stage.write(staged, tokens)
                    bar.update(counter.count - bar.n)
            if on_phase:
                on_phase("merge")
            stage.finish_loading()
            counts = stage.merge()
        finally:
            stage.drop()
    out = result.result
    out.created = counts.get("created", 0)
    out.updated = counts.get("updated", 0)
    out.unchanged = counts.get("unchanged", 0)
    out.deactivated = counts.get("deactivated", 0)
    out.skipped = counts.get("skipped", 0)
    out.seconds = (timezone.now() - started).total_seconds()
    return out


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


def _header(reader, path) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise SireneFileError(f"{path}: the file is empty") from None
    except csv.Error as e:
        raise SireneFileError(f"{path}: not a CSV file ({e})") from None
    except UnicodeDecodeError as e:
        raise SireneFileError(
            f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} in the header)"
        ) from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise SireneFileError(f"{path}: the zip archive is damaged or truncated ({e})") from None
    if not header or not any(h.strip() for h in header):
        raise SireneFileError(f"{path}: the first line is empty, expected the header")
    RowParser.check_header(header)
    return header


def _batches(reader, parser, path, batch_size):
    """Yield (staged, tokens, rejections, rows read) per batch; file errors → SireneFileError."""
    line = 1
    try:
        batch: list[tuple[int, list[str]]] = []
        unreadable: list[Rejection] = []
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as e:  # e.g. an oversized field: that row only
                line = reader.line_num
                unreadable.append(Rejection(line, "", f"unreadable row ({e})"))
                continue
            line = reader.line_num
            batch.append((line, row))
            if len(batch) >= batch_size:
                staged, tokens, rejections = parser.parse(batch)
                yield staged, tokens, unreadable + rejections, len(batch) + len(unreadable)
                batch, unreadable = [], []
        if batch or unreadable:
            staged, tokens, rejections = parser.parse(batch)
            yield staged, tokens, unreadable + rejections, len(batch) + len(unreadable)
    except UnicodeDecodeError as e:
        raise SireneFileError(
            f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} after line {line})"
        ) from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise SireneFileError(
            f"{path}: the zip archive is damaged or truncated after line {line} ({e})"
        ) from None
