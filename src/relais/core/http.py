"""HTTP responses for private files: one byte range, private headers.

A leaf helper (imports no app). The views that stream a recording — routing's signed
link and owner media (:mod:`relais.routing.reads`), the caller portal's recording
(:mod:`relais.privacy.views`), the operator's player (:mod:`relais.privacy.admin`) —
check the reader's right and audit the read themselves; :func:`ranged_file_response`
only builds the response:

- no ``Range`` header (or an empty one): 200, the whole file streamed, ``Content-Length``;
- ``Range: bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` (one range; the end is clipped to the
  file): 206 with those bytes and ``Content-Range: bytes a-b/size``;
- a range starting past the end (or after its own end): 416, ``Content-Range: bytes
  */size``, no body;
- every response gets the private headers (``Cache-Control: private, no-store,
  max-age=0``, ``X-Robots-Tag: noindex, nofollow``); the 200 and 206 ones also
  ``Accept-Ranges: bytes`` and ``Content-Disposition: inline; filename="…"``.

Something was read when the status is 200 or 206 (:func:`served`): the 416 reads nothing.
"""

import mimetypes
import re

from django.http import FileResponse, HttpResponse

PRIVATE_HEADERS = {
    "Cache-Control": "private, no-store, max-age=0",
    "X-Robots-Tag": "noindex, nofollow",
}

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def private(response, headers: dict | None = None):
    """``response`` with the private headers (never cached, never indexed)."""
    for key, value in (PRIVATE_HEADERS if headers is None else headers).items():
        response[key] = value
    return response


def extension(name: str) -> str:
    """A stored file's extension for the file name a download is given (``bin`` if none)."""
    return (name.rsplit(".", 1)[-1] if "." in name else "bin")[:5]


def served(response) -> bool:
    """Whether ``response`` (from :func:`ranged_file_response`) hands out bytes."""
    return response.status_code in (200, 206)


def _open(source):
    """(binary handle, size, name) of a stored FieldFile or of an open binary handle."""
    storage = getattr(source, "storage", None)
    if storage is not None:  # a FieldFile: open it from its storage
        return storage.open(source.name, "rb"), source.size, source.name
    source.seek(0, 2)
    size = source.tell()
    source.seek(0)
    return source, size, getattr(source, "name", "") or ""


def ranged_file_response(request, source, filename: str, content_type: str | None = None,
                         private_headers: dict | None = None):
    """Stream ``source`` (a FieldFile, or a binary handle open for reading) honouring one
    byte range of ``request``, as an inline ``filename``, with ``private_headers``
    (:data:`PRIVATE_HEADERS` by default). ``content_type`` defaults to the one the stored
    name suggests."""
    handle, size, name = _open(source)
    content_type = (content_type or mimetypes.guess_type(name)[0]
                    or "application/octet-stream")
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if match and (match.group(1) or match.group(2)) and size:
        first, last = match.group(1), match.group(2)
        if first:
            start, end = int(first), min(int(last) if last else size - 1, size - 1)
        else:  # suffix: the last N bytes
            start, end = max(0, size - int(last)), size - 1
        if start >= size or start > end:
            handle.close()
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return private(response, private_headers)
        handle.seek(start)
        response = HttpResponse(handle.read(end - start + 1), status=206,
                                content_type=content_type)
        handle.close()
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    else:
        response = FileResponse(handle, content_type=content_type)
        response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return private(response, private_headers)
