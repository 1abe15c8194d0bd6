"""relais.core.http: a stored file streamed with one byte range and private headers."""

import io
from types import SimpleNamespace

import pytest
from django.core.files.storage import FileSystemStorage
from django.test import RequestFactory

from relais.core import http

DATA = bytes(range(256)) * 4  # 1024 bytes
PRIVATE = "private, no-store, max-age=0"


def get(source, range_header=None):
    headers = {"HTTP_RANGE": range_header} if range_header is not None else {}
    request = RequestFactory().get("/", **headers)
    return http.ranged_file_response(request, source, "message-x.wav")


@pytest.fixture
def stored(tmp_path):
    """A FieldFile-like stored file (storage, name, size), as the views pass."""
    storage = FileSystemStorage(location=tmp_path)
    name = storage.save("rec/voice.wav", io.BytesIO(DATA))
    return SimpleNamespace(storage=storage, name=name, size=len(DATA))


def test_the_whole_file_without_a_range(stored):
    response = get(stored)
    assert response.status_code == 200 and http.served(response)
    assert b"".join(response.streaming_content) == DATA
    assert response["Content-Length"] == str(len(DATA))
    assert response["Content-Type"] == "audio/x-wav"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Disposition"] == 'inline; filename="message-x.wav"'
    assert response["Cache-Control"] == PRIVATE
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "Content-Range" not in response


@pytest.mark.parametrize(("header", "start", "end"), [
    ("bytes=0-99", 0, 99),
    ("bytes=100-", 100, 1023),
    ("bytes=1000-5000", 1000, 1023),  # the end is clipped to the file
    ("bytes=-24", 1000, 1023),  # suffix: the last 24 bytes
    ("bytes=-5000", 0, 1023),
    ("bytes=1023-1023", 1023, 1023),
])
def test_one_byte_range(stored, header, start, end):
    response = get(stored, header)
    assert response.status_code == 206 and http.served(response)
    assert response.content == DATA[start:end + 1]
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert response["Content-Type"] == "audio/x-wav"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Disposition"] == 'inline; filename="message-x.wav"'
    assert response["Cache-Control"] == PRIVATE


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=999999-", "bytes=50-10"])
def test_an_unsatisfiable_range_is_416_and_reads_nothing(stored, header):
    response = get(stored, header)
    assert response.status_code == 416 and not http.served(response)
    assert response.content == b""
    assert response["Content-Range"] == f"bytes */{len(DATA)}"
    assert response["Cache-Control"] == PRIVATE
    assert "Accept-Ranges" not in response and "Content-Disposition" not in response


@pytest.mark.parametrize("header", ["", "bytes=-", "items=0-9", "bytes=0-9,20-29"])
def test_an_empty_or_unsupported_range_gives_the_whole_file(stored, header):
    response = get(stored, header)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == DATA


def test_an_open_handle_and_explicit_type_and_headers():
    response = http.ranged_file_response(
        RequestFactory().get("/", HTTP_RANGE="bytes=2-5"), io.BytesIO(b"0123456789"),
        "extrait.mp3", content_type="audio/mpeg", private_headers={"Cache-Control": "no-store"})
    assert response.status_code == 206 and response.content == b"2345"
    assert response["Content-Range"] == "bytes 2-5/10"
    assert response["Content-Type"] == "audio/mpeg"
    assert response["Cache-Control"] == "no-store" and "X-Robots-Tag" not in response


def test_extension():
    assert http.extension("rec/a.wav") == "wav"
    assert http.extension("rec/noext") == "bin"
    assert http.extension("a.verylongext") == "veryl"
