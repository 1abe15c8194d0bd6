"""Fuzzing the SIRENE importer (hypothesis): arbitrary rows, headers, encodings, bytes.

Whatever the file, ``import_sirene`` either imports it or refuses it with a
SireneFileError (a one-line message for the operator) — never another exception — and
a refused file leaves the directory exactly as it was. What it imports never stores the
"[ND]" mask nor a malformed SIRET.
"""

import csv
import io
import random
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relais.directory.importer import SireneFileError, import_sirene
from relais.directory.models import Establishment
from relais.directory.sirene import HEADER, ND
from tests.factories import row

FUZZ = settings(max_examples=20, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])

# Values a field may take: realistic ones, INSEE's mask, and anything at all.
nasty_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30,
)
field = st.one_of(
    nasty_text,
    st.sampled_from(["", ND, "A", "F", "O", "P", "94028", "75056", "2A004", "97411", "43.22A",
                     "NAFRev2", "NAP", "9999999.9", "-1e308", "nan", "inf", "1e400", '"',
                     "\r\n", "\x00", ",", "﻿", "[ND", "é" * 300]),
)
sirets = st.one_of(
    st.sampled_from(["30000000000011", "30000000000029", "30000000000037"]),
    st.from_regex(r"\A[0-9]{14}\Z"),
    nasty_text,
)


@st.composite
def rows(draw):
    values = {"siret": draw(sirets)}
    for column in draw(st.lists(st.sampled_from(HEADER), max_size=6, unique=True)):
        values[column] = draw(field)
    return row(**values)


@st.composite
def headers(draw):
    header = list(HEADER)
    kind = draw(st.sampled_from(["exact", "shuffled", "dropped", "extra", "duplicated",
                                 "spaced", "junk"]))
    rnd = random.Random(draw(st.integers(0, 2**16)))
    if kind == "shuffled":
        rnd.shuffle(header)
    elif kind == "dropped":
        for _ in range(draw(st.integers(1, 5))):
            header.pop(rnd.randrange(len(header)))
    elif kind == "extra":
        header.insert(rnd.randrange(len(header)), draw(nasty_text))
    elif kind == "duplicated":
        header.append(rnd.choice(header))
    elif kind == "spaced":
        header = [f" {h} " for h in header]
    elif kind == "junk":
        header = draw(st.lists(nasty_text, min_size=1, max_size=5))
    return header


@st.composite
def files(draw):
    """(bytes, suffix): a CSV in some encoding, maybe damaged, maybe zipped; or junk."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=2000)), draw(st.sampled_from([".csv", ".zip"]))
    header = draw(headers())
    out = io.StringIO()
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(header)
    for r in draw(st.lists(rows(), max_size=6)):
        writer.writerow([r.get(h.strip(), "") for h in header])
    text = out.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "cp1252",
                                     "utf-16"]))
    data = text.encode(encoding, errors="replace")
    damage = draw(st.sampled_from(["none", "none", "truncate", "insert", "nul"]))
    if damage == "truncate" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif damage == "insert":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=20)) + data[at:]
    elif damage == "nul":
        data = data.replace(b",", b"\x00,", 1)
    if draw(st.booleans()) and draw(st.integers(0, 3)) == 0:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("StockEtablissement_utf8.csv", data)
        zipped = buf.getvalue()
        if draw(st.booleans()):
            zipped = zipped[: len(zipped) * 2 // 3]  # a truncated download
        return zipped, ".zip"
    return data, ".csv"


def snapshot():
    return list(Establishment.objects.order_by("siret").values_list(
        "siret", "name", "active", "latitude", "longitude", "naf_code", "updated_at"))


@pytest.mark.django_db
@FUZZ
@given(files())
def test_any_file_is_imported_or_refused_cleanly(tmp_path, file):
    data, suffix = file
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    before = snapshot()
    try:
        result = import_sirene(path, progress=False)
    except SireneFileError as e:
        message = str(e)
        assert message and "\n" not in message.strip()  # one line for the operator
        assert snapshot() == before  # nothing changed
        return
    assert result.read >= (result.created + result.updated + result.unchanged
                           + result.deactivated)
    for siret, name, *_ in snapshot():
        assert len(siret) == 14 and siret.isdigit(), siret
        assert ND not in (name or "")
    for column in ("name", "search_name", "address", "postal_code"):
        assert not Establishment.objects.filter(**{f"{column}__contains": ND}).exists()
    for lat, lon in Establishment.objects.exclude(latitude=None).values_list("latitude",
                                                                               "longitude"):
        assert -90 <= lat <= 90 and -180 <= lon <= 180


@pytest.mark.django_db
@FUZZ
@given(st.lists(rows(), min_size=1, max_size=8))
def test_any_rows_in_a_good_file_are_imported_or_rejected_one_by_one(tmp_path, items):
    """A well-formed file of arbitrary rows is never refused as a whole: each row is
    imported, skipped (closed) or rejected with its line number."""
    path = tmp_path / "rows.csv"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for r in items:
        # Python's csv module leaves a lone CR unquoted (not in "\n"): every CSV reader
        # takes it for a line break, so it cannot be part of a well-formed file's field.
        writer.writerow([r.get(h, "").replace("\x00", "").replace("\r", " ")
                         for h in HEADER])
    path.write_text(out.getvalue(), encoding="utf-8")
    rejected = []
    result = import_sirene(path, progress=False, on_rejection=rejected.append)
    assert result.rejected == len(rejected)
    for r in rejected:
        assert r.line >= 2 and r.reason
    assert result.read == len(items)
    # (earlier examples of this test share its database: a closed row may deactivate)
    accounted = (result.created + result.updated + result.unchanged + result.skipped
                 + result.deactivated)
    assert accounted + result.rejected <= result.read
    # Each row's SIRET is accounted for unless it was rejected (the last occurrence wins).
    assert accounted >= len({r["siret"] for r in items}) - result.rejected
