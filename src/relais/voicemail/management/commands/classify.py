"""``relais classify``: the understanding and redaction of transcripts, for operators.

Reads JSON Lines on standard input, one ``{"id": …, "text": "…"}`` per line (an optional
``"called_metiers": [slug, …]`` is used as the pipeline uses the called listing's
métiers), and writes one JSON line per input line, in the same order, as soon as it is
decided:

    {"id", "intent", "shareable", "confidence", "metier": {"slug", "label", "naf"} | null,
     "urgency", "redacted_text"}

``--audio``: each line is ``{"id": …, "audio": "PATH"}`` (and the optional
``"called_metiers"``); the recording goes through the pipeline's steps without any
database write — decode and normalise (:func:`relais.voicemail.audio.decode`), transcribe
(Whisper, with the honesty checks of :func:`relais.voicemail.transcription.assess`),
understand, redact — and the output adds ``"transcript"`` (what is kept of it) and
``"transcript_reliable"`` (false: a loop or invented words were dropped, or a stretch was
decoded with low confidence; the pipeline then never shares the message without an
operator). A file that cannot be read or decoded gives the empty-message decision with
an ``"error"``.

The same code path as the voicemail pipeline (``understand`` + ``redact``). Bad input never
stops the stream: a line that is not a JSON object gives ``{"line": n, "error": "…"}``;
a missing or non-text ``text`` is decided as an empty message (never shareable) with an
``"error"`` field saying what was wrong. Memory stays constant: one line at a time, each
line read up to ``--max-line-bytes``.
"""

import json
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand

from relais.voicemail.understanding import classify

DEFAULT_MAX_LINE_BYTES = 1_000_000


def _read_lines(stream, limit: int):
    """(line number, bytes or None when longer than limit) for each line of a binary stream."""
    n = 0
    while True:
        chunk = stream.readline(limit + 1)
        if not chunk:
            return
        n += 1
        if len(chunk) > limit and not chunk.endswith(b"\n"):
            # too long: skip the rest of this line without keeping it
            while True:
                more = stream.readline(65536)
                if not more or more.endswith(b"\n"):
                    break
            yield n, None
            continue
        yield n, chunk


def decide_line(n: int, raw: bytes | None) -> dict | None:
    """The output object for one input line (None for a blank line)."""
    if raw is None:
        return {"line": n, "error": "line too long"}
    text = raw.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    try:
        item = json.loads(text)
    except ValueError as exc:
        return {"line": n, "error": f"invalid JSON: {exc.msg}"}
    if not isinstance(item, dict):
        return {"line": n, "error": "each line must be a JSON object with an id and a text"}
    errors = []
    if "id" not in item:
        errors.append("missing id")
    body = item.get("text")
    if body is None:
        errors.append("missing text")
        body = ""
    elif not isinstance(body, str):
        errors.append("text must be a string")
        body = ""
    called = item.get("called_metiers")
    if not (isinstance(called, list) and all(isinstance(m, str) for m in called)):
        called = None
    out = {"id": item.get("id")}
    out.update(classify(body, called_metiers=called))
    if errors:
        out["shareable"] = False
        out["error"] = "; ".join(errors)
        out["line"] = n
    return out


def decide_audio_line(n: int, raw: bytes | None) -> dict | None:
    """The output object for one ``--audio`` input line (None for a blank line)."""
    if raw is None:
        return {"line": n, "error": "line too long"}
    text = raw.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    try:
        item = json.loads(text)
    except ValueError as exc:
        return {"line": n, "error": f"invalid JSON: {exc.msg}"}
    if not isinstance(item, dict):
        return {"line": n, "error": "each line must be a JSON object with an id and an audio"}
    called = item.get("called_metiers")
    if not (isinstance(called, list) and all(isinstance(m, str) for m in called)):
        called = None
    path = item.get("audio")
    error = "" if "id" in item else "missing id"
    transcript, reliable = "", False
    if not isinstance(path, str) or not path:
        error = "; ".join(filter(None, [error, "missing audio path"]))
    else:
        from relais.voicemail import audio, transcription

        try:
            decoded = audio.decode(Path(path))
        except FileNotFoundError:
            error = "; ".join(filter(None, [error, f"audio file not found: {path}"]))
        except audio.AudioError as err:
            error = "; ".join(filter(None, [error, f"{err.code}: {err.message_en}"]))
        except OSError as exc:
            error = "; ".join(filter(None, [error, f"cannot read {path}: {exc.strerror}"]))
        else:
            t = transcription.transcribe(decoded)
            transcript, reliable = t.text, t.reliable
    out = {"id": item.get("id")}
    out.update(classify(transcript, called_metiers=called))
    out.update(transcript=transcript, transcript_reliable=reliable)
    if error:
        out.update(shareable=False, error=error, line=n)
    return out


class Command(BaseCommand):
    help = "Classify and redact voicemail transcripts: JSON Lines on stdin, JSON Lines on stdout."
    stealth_options = ("stdin",)  # call_command("classify", stdin=…) in tests

    def add_arguments(self, parser):
        parser.add_argument("--max-line-bytes", type=int, default=DEFAULT_MAX_LINE_BYTES,
                            help="longer input lines are answered with an error")
        parser.add_argument("--audio", action="store_true",
                            help='lines are {"id", "audio": PATH}: transcribe, then classify')

    def handle(self, *args, **options):
        stdin = options.get("stdin") or sys.stdin
        stream = getattr(stdin, "buffer", stdin)
        if isinstance(stream.read(0), str):  # a text stream (tests): read it as UTF-8 bytes
            stream = _TextAsBytes(stream)
        started = time.monotonic()
        count = errors = shared = 0
        for n, raw in _read_lines(stream, options["max_line_bytes"]):
            out = (decide_audio_line if options["audio"] else decide_line)(n, raw)
            if out is None:
                continue
            count += 1
            errors += "error" in out
            shared += bool(out.get("shareable"))
            self.stdout.write(json.dumps(out, ensure_ascii=False))
            self.stdout.flush()
        elapsed = time.monotonic() - started
        self.stderr.write(
            f"{count} messages classified ({shared} shareable, {errors} with errors) "
            f"in {elapsed:.1f} s"
        )


class _TextAsBytes:
    """readline() on a text stream, giving UTF-8 bytes."""

    def __init__(self, stream):
        self.stream = stream

    def readline(self, limit: int = -1) -> bytes:
        return self.stream.readline(limit).encode("utf-8")
