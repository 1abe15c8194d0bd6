"""``relais classify``: JSON Lines in, JSON Lines out, whatever the input."""

import io
import json
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

REQUEST = ("Bonjour, je m'appelle Sophie Martin, ma porte a claqué et mes clés sont à "
           "l'intérieur, je suis à Limoges, rappelez-moi au 06 19 84 32 70.")
FIELDS = {"id", "intent", "shareable", "confidence", "metier", "urgency", "redacted_text"}


def classify(stdin: str | bytes) -> list[dict]:
    out, err = io.StringIO(), io.StringIO()
    stream = io.BytesIO(stdin) if isinstance(stdin, bytes) else io.StringIO(stdin)
    call_command("classify", stdin=stream, stdout=out, stderr=err)
    lines = out.getvalue().splitlines()
    assert "messages classified" in err.getvalue()
    return [json.loads(line) for line in lines]


def test_decisions_in_input_order_with_redacted_text():
    lines = [
        {"id": "a", "text": REQUEST},
        {"id": 2, "text": "Coucou mon chéri, c'est moi, n'oublie pas le pain, bisous."},
        {"id": "c", "text": "Bonjour, ici la banque, votre compte professionnel est à découvert."},
    ]
    out = classify("".join(json.dumps(x) + "\n" for x in lines))
    assert [o["id"] for o in out] == ["a", 2, "c"]
    first = out[0]
    assert set(first) == FIELDS
    assert first["intent"] == "quote_request" and first["shareable"] is True
    assert first["metier"] == {"slug": "serrurier", "label": "Serrurier", "naf": ["43.32B"]}
    assert first["urgency"] == "urgent"
    assert 0 <= first["confidence"] <= 1
    assert "Sophie" not in first["redacted_text"] and "06 19" not in first["redacted_text"]
    assert "[nom]" in first["redacted_text"] and "[téléphone]" in first["redacted_text"]
    assert "Limoges" in first["redacted_text"]
    assert out[1]["intent"] == "personal" and out[1]["shareable"] is False
    assert out[1]["metier"] is None
    assert out[2]["intent"] == "billing_or_admin" and out[2]["shareable"] is False


def test_bad_lines_give_errors_in_place_and_the_stream_goes_on():
    stdin = "\n".join([
        '{"id": 1, "text": ""}',
        "this is not JSON",
        '{"id": 3}',
        '{"id": 4, "text": 12}',
        '[1, 2, 3]',
        '{"text": "Bonjour, je voudrais un devis pour une clôture, merci."}',
        "",
        '{"id": 7, "text": "Hola, necesito un electricista para mi casa, gracias."}',
        '{"id": 8, "text": "Hello, we need an electrician to fix the lights, please call back."}',
    ]) + "\n"
    out = classify(stdin)
    assert len(out) == 8  # the blank line is not a message
    assert out[0]["id"] == 1 and out[0]["intent"] == "empty" and out[0]["shareable"] is False
    assert out[1] == {"line": 2, "error": out[1]["error"]} and "invalid JSON" in out[1]["error"]
    assert out[2]["id"] == 3 and out[2]["error"] == "missing text" and out[2]["line"] == 3
    assert out[2]["shareable"] is False and set(out[2]) >= FIELDS
    assert out[3]["error"] == "text must be a string" and out[3]["shareable"] is False
    assert out[4]["line"] == 5 and "JSON object" in out[4]["error"]
    assert out[5]["id"] is None and out[5]["error"] == "missing id"
    assert out[5]["shareable"] is False  # no id, no sharing
    assert out[6]["id"] == 7 and out[6]["shareable"] is False  # not French
    assert out[7]["id"] == 8 and set(out[7]) == FIELDS and out[7]["intent"] == "quote_request"


def test_huge_and_junk_texts():
    huge = ("Bonjour, j'ai une fuite d'eau sous l'évier, rappelez-moi au 06 12 34 56 78. " * 1400)
    assert len(huge.encode()) > 100_000
    junk = "".join(chr(c) for c in range(0, 0x2FF, 3)) + "\ufffd\x00\x01"
    out = classify(json.dumps({"id": "big", "text": huge}) + "\n"
                   + json.dumps({"id": "junk", "text": junk}) + "\n")
    assert out[0]["id"] == "big" and out[0]["shareable"] is False
    assert "06 12 34 56 78" not in out[0]["redacted_text"]
    assert out[1]["id"] == "junk" and out[1]["shareable"] is False and set(out[1]) == FIELDS


def test_binary_junk_and_overlong_lines():
    stdin = (b"\x00\xff\xfe\x80binary\n"
             + b'{"id": "ok", "text": "Bonjour, un devis pour un carrelage, merci."}\n'
             + b'{"id": "long", "text": "' + b"a" * 5000 + b'"}\n'
             + b'{"id": "last", "text": "Merci, au revoir."}\n')
    out_io, err = io.StringIO(), io.StringIO()
    call_command("classify", "--max-line-bytes", "2000", stdin=io.BytesIO(stdin), stdout=out_io,
                 stderr=err)
    out = [json.loads(x) for x in out_io.getvalue().splitlines()]
    assert out[0]["line"] == 1 and "invalid JSON" in out[0]["error"]
    assert out[1]["id"] == "ok" and out[1]["intent"] == "quote_request"
    assert out[2] == {"line": 3, "error": "line too long"}
    assert out[3]["id"] == "last" and out[3]["intent"] == "empty"


def test_called_metiers_are_used_as_a_prior():
    out = classify(json.dumps({"id": 1, "text": "Bonjour, j'ai une fuite, rappelez-moi.",
                               "called_metiers": ["couvreur"]}) + "\n")
    assert out[0]["metier"]["slug"] == "couvreur"


@pytest.mark.slow
def test_console_script_streams_line_by_line(tmp_path):
    relais = Path(sys.executable).with_name("relais")
    env = {
        **os.environ,
        "SECRET_KEY": "classify-subprocess-test",
        "RELAIS_DATA_DIR": str(tmp_path),
        "RELAIS_DEMO": "1",  # no provider credentials here (system check relais.calls.E001)
        # the models trained by this test session: no second training
        "RELAIS_MODEL_CACHE": str(settings.RELAIS_MODEL_CACHE),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.Popen([str(relais), "classify"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        proc.stdin.write((json.dumps({"id": 1, "text": REQUEST}) + "\n").encode())
        proc.stdin.flush()
        # the first answer arrives while stdin is still open: output is streamed
        ready, _, _ = select.select([proc.stdout], [], [], 180)
        assert ready, "no output before end of input"
        first = json.loads(proc.stdout.readline())
        assert first["id"] == 1 and first["metier"]["slug"] == "serrurier"
        proc.stdin.write(b'{"id": 2, "text": "Allo ? Ah pardon, mauvais numero."}\nnot json\n')
        proc.stdin.close()
        rest = [json.loads(x) for x in proc.stdout.read().splitlines()]
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rest[0]["id"] == 2 and rest[0]["intent"] == "wrong_number"
    assert rest[1] == {"line": 3, "error": rest[1]["error"]}


# --- --audio: the pipeline's steps on recordings, without the database --------------------

AUDIO_FIELDS = FIELDS | {"transcript", "transcript_reliable"}


@pytest.mark.whisper
def test_audio_lines_are_transcribed_then_classified(whisper_model, tmp_path):
    from tests.clips import speak

    clip = speak("Bonjour, j'ai une fuite d'eau sous l'évier de la cuisine, il me faudrait "
                 "un plombier rapidement. Merci.", tmp_path / "fuite.ogg", fmt="ogg",
                 speed=140, pad_s=0.5)
    (tmp_path / "empty.wav").write_bytes(b"")
    lines = [
        {"id": "fuite", "audio": str(clip)},
        {"id": "absent", "audio": str(tmp_path / "absent.wav")},
        {"id": "vide", "audio": str(tmp_path / "empty.wav")},
        {"id": "sans"},
    ]
    out, err = io.StringIO(), io.StringIO()
    stdin = io.StringIO("".join(json.dumps(x) + "\n" for x in lines) + "not json\n")
    call_command("classify", "--audio", stdin=stdin, stdout=out, stderr=err)
    fuite, absent, vide, sans, bad = [json.loads(x) for x in out.getvalue().splitlines()]
    assert set(fuite) == AUDIO_FIELDS
    assert fuite["transcript_reliable"] is True
    assert "plombier" in fuite["transcript"].lower(), fuite["transcript"]
    assert fuite["intent"] == "quote_request" and fuite["metier"]["slug"] == "plombier"
    assert fuite["redacted_text"]
    assert absent["error"].startswith("audio file not found") and absent["shareable"] is False
    assert vide["error"].startswith("empty:") and vide["transcript"] == ""
    assert sans["error"] == "missing audio path" and sans["transcript_reliable"] is False
    assert bad == {"line": 5, "error": "invalid JSON: Expecting value"}
    assert "5 messages classified" in err.getvalue()
