"""The bundled Whisper model: assembled from its two packages, pinned, rebuilt, shared."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from relais.voicemail import transcription as tr
from relais.voicemail.audio import decode, to_wav_bytes
from relais.voicemail.transcription import BUNDLED_FILES, ModelError, ensure_bundled_model
from tests.clips import speak_samples

ROOT = Path(__file__).resolve().parents[2]


def _assert_valid(folder: Path):
    assert sorted(p.name for p in folder.iterdir()) == sorted(BUNDLED_FILES)
    for name, (size, sha) in BUNDLED_FILES.items():
        assert (folder / name).stat().st_size == size
        assert tr._sha256(folder / name) == sha


def test_pinned_checksum_is_upstream_faster_whisper_base():
    # The SHA-256 of model.bin in Systran/faster-whisper-base (revision ebe41f70…):
    # the two packages must rebuild exactly that file.
    assert BUNDLED_FILES["model.bin"] == (
        145_217_532,
        "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    )


def test_first_use_assembles_and_verifies(tmp_path, caplog):
    caplog.set_level("INFO", logger="relais.voicemail.transcription")
    folder = ensure_bundled_model(tmp_path)
    assert folder == tmp_path / "faster-whisper-base"
    _assert_valid(folder)
    assert "assembled" in caplog.text
    assert not list(tmp_path.glob("**/*.tmp"))
    # Second use: verified, not rebuilt.
    inode = (folder / "model.bin").stat().st_ino
    caplog.clear()
    assert ensure_bundled_model(tmp_path) == folder
    assert (folder / "model.bin").stat().st_ino == inode
    assert "assembled" not in caplog.text


def test_corrupted_or_partial_cache_is_rebuilt(tmp_path, caplog):
    folder = ensure_bundled_model(tmp_path)
    with (folder / "model.bin").open("r+b") as f:  # one flipped byte, same size
        f.seek(70_000_000)
        byte = f.read(1)
        f.seek(70_000_000)
        f.write(bytes([byte[0] ^ 0xFF]))
    (folder / "tokenizer.json").write_text("{}")
    (folder / "vocabulary.txt").unlink()
    caplog.set_level("INFO", logger="relais.voicemail.transcription")
    assert ensure_bundled_model(tmp_path) == folder
    _assert_valid(folder)
    assert "model.bin does not match its checksum" in caplog.text
    assert "model.bin, tokenizer.json, vocabulary.txt" in caplog.text
    # A copy cut short (a full disk, a killed process) is rebuilt too.
    with (folder / "model.bin").open("r+b") as f:
        f.truncate(1000)
    ensure_bundled_model(tmp_path)
    _assert_valid(folder)


def test_parts_that_do_not_match_the_pin_are_refused(tmp_path, monkeypatch):
    size, _ = BUNDLED_FILES["model.bin"]
    monkeypatch.setitem(BUNDLED_FILES, "model.bin", (size, "0" * 64))
    with pytest.raises(ModelError) as info:
        ensure_bundled_model(tmp_path)
    assert info.value.code == "checksum_mismatch"
    assert "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9" in str(info.value)
    assert "empreinte" in info.value.message_fr
    folder = tmp_path / "faster-whisper-base"
    assert not (folder / "model.bin").exists()  # nothing untrusted left to load
    assert not list(folder.glob("*.tmp"))
    with pytest.raises(ModelError):  # and it stays refused
        ensure_bundled_model(tmp_path)


def test_concurrent_first_use_builds_once(tmp_path):
    """Three workers starting together: one assembles, all get the same valid folder."""
    start_at = time.time() + 4
    code = (
        "import json, logging, sys, time\n"
        "logging.basicConfig(level=logging.INFO, stream=sys.stderr)\n"
        "from relais.voicemail.transcription import ensure_bundled_model\n"
        f"time.sleep(max(0, {start_at} - time.time()))\n"
        f"print(json.dumps(str(ensure_bundled_model({str(tmp_path)!r}))))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env,
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in results]
    folders = {json.loads(out) for out, _ in results}
    assert folders == {str(tmp_path / "faster-whisper-base")}
    assert sum("assembled" in err for _, err in results) == 1
    _assert_valid(tmp_path / "faster-whisper-base")
    assert not list(tmp_path.glob("**/*.tmp"))


def test_model_setting_as_a_path(tmp_path):
    folder = ensure_bundled_model(tmp_path)
    assert tr.resolve_model_path(str(folder)) == folder
    with pytest.raises(ModelError) as info:
        tr.resolve_model_path(str(tmp_path / "nowhere"))
    assert info.value.code == "model_missing"
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "model.bin").write_bytes(b"x")
    (tmp_path / "partial" / "config.json").write_text("{}")
    with pytest.raises(ModelError) as info:  # no tokenizer.json: would be fetched online
        tr.resolve_model_path(str(tmp_path / "partial"))
    assert info.value.code == "model_incomplete"


def test_other_sizes_are_never_downloaded(settings, tmp_path):
    settings.RELAIS_MODEL_CACHE = tmp_path
    started = time.perf_counter()
    with pytest.raises(ModelError) as info:
        tr.resolve_model_path("small")
    assert info.value.code == "model_missing"
    assert "never downloads" in str(info.value)
    assert time.perf_counter() - started < 5
    assert not list(tmp_path.glob("**/*.bin"))


def test_silero_vad_ships_with_faster_whisper_and_loads_offline(monkeypatch):
    import numpy as np
    from faster_whisper.utils import get_assets_path
    from faster_whisper.vad import VadOptions, get_speech_timestamps, get_vad_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    asset = Path(get_assets_path()) / "silero_vad_v6.onnx"
    assert asset.is_file() and asset.stat().st_size > 1_000_000
    get_vad_model.cache_clear()
    assert get_vad_model() is not None
    samples, sr = speak_samples("Bonjour, je voudrais un rendez-vous.")
    speech = decode(to_wav_bytes(samples, sr)).samples
    padded = np.concatenate([np.zeros(32000, np.float32), speech, np.zeros(32000, np.float32)])
    found = get_speech_timestamps(padded, VadOptions(min_silence_duration_ms=500))
    assert found
    assert 1.5 < found[0]["start"] / 16000 < 2.2
    assert 1.5 + speech.size / 16000 < found[-1]["end"] / 16000 < 2.6 + speech.size / 16000
