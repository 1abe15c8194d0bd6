"""Transcription accuracy on your own recordings: WER, real-time factor, classification.

    .venv/bin/python benchmarks/asr_wer.py DIR [--option repetition_penalty=1.2 …]
    RELAIS_WHISPER_MODEL=/models/faster-whisper-large-v3 .venv/bin/python benchmarks/asr_wer.py DIR
    .venv/bin/python benchmarks/asr_wer.py --make-espeak DIR [--count 12] [--telephone]

DIR holds recordings (any format Relais decodes: WAV, μ-law, MP3, Ogg, WebM, M4A…) and,
next to each, its reference transcript ``NAME.txt`` (what was really said, written by a
person). An optional ``NAME.json`` ``{"called_metiers": [slug…]}`` gives the called
listing's métiers (used by the classification and by ``--bias``).

Each recording goes through the pipeline's own steps (decode, normalise, ``transcribe``
with its honesty checks, ``understand``), nothing stored. One JSON line per recording, then
a summary line:

- ``wer``: word error rate of the transcript against the reference, after French
  normalisation (lower case, no accents or punctuation, apostrophes and hyphens split,
  a run of numbers in words or digits read as one digit string: "zéro six douze" = "06
  12" = "0612"); the summary's ``wer`` is corpus-level (total edits / total reference
  words);
- ``rtf``: transcription seconds / audio seconds (model already loaded);
- ``reliable``: the transcript passed the honesty checks (no loop, no invented words);
- ``intent_same``, ``metier_same``, ``shareable_same``: what ``understand`` decided on the
  transcript equals what it decides on the reference text.

``--option KEY=VALUE`` passes a faster-whisper decoding option (numbers parsed);
``--bias prompt|hotwords`` gives Whisper the called métier's vocabulary (label, synonyms,
first phrases) as an initial prompt or hotwords. ``--make-espeak DIR`` writes clips spoken
by espeak-ng from the corpus test split (``--telephone``: through an 8 kHz μ-law line),
with their references: a way to compare options on this machine, never a measure of
accuracy on human speech.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relais.settings")
os.environ.setdefault("RELAIS_ALLOW_KEY_FILE", "1")
os.environ.setdefault("RELAIS_DATA_DIR", str(ROOT / "var"))

AUDIO = {".wav", ".mp3", ".ogg", ".oga", ".opus", ".webm", ".m4a", ".flac", ".aac", ".mp4"}


def normalise(text: str) -> list[str]:
    """French words for WER: folded, punctuation dropped, number runs as digit strings."""
    from relais.voicemail.understanding.numbers import VALUES, spoken_digits
    from relais.voicemail.understanding.text import fold

    tokens = re.findall(r"[a-z0-9]+", fold(text))
    out: list[str] = []
    run: list[str] = []
    for t in [*tokens, ""]:
        if t and (t.isdigit() or t in VALUES or (run and t == "et")):
            run.append(t)
            continue
        if run:
            tail = []
            while run and run[-1] == "et":  # "… et" ending a run is a word
                tail.append(run.pop())
            if run:
                out.append(spoken_digits(run))
            out += tail
            run = []
        if t:
            out.append(t)
    return out


def edits(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance between word lists (substitutions, insertions, deletions)."""
    d = list(range(len(hyp) + 1))
    for i in range(1, len(ref) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(hyp) + 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (ref[i - 1] != hyp[j - 1]))
    return d[len(hyp)]


def vocabulary(slugs: list[str]) -> str:
    from relais.voicemail.understanding.metiers import taxonomy

    parts = []
    for slug in slugs:
        e = taxonomy().get(slug)
        if e:
            parts += [e["label"], *e["synonyms"][:3], *e["phrases"][:8]]
    return ", ".join(parts)


def parse_options(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def make_espeak(folder: Path, count: int, telephone: bool) -> None:
    """Clips of the corpus test split spoken by espeak-ng, with their references."""
    from transcription import speak, telephone_line

    from relais.voicemail.audio import decode
    from relais.voicemail.understanding.model import corpus

    folder.mkdir(parents=True, exist_ok=True)
    rows = [r for r in corpus("test") if r["lang"] == "fr" and r["intent"] != "empty"]
    step = max(1, len(rows) // count)
    for r in rows[::step][:count]:
        wav = speak(r["text"], 165)
        if telephone:
            wav = telephone_line(decode(wav, max_seconds=600).samples)
        (folder / f"{r['id']}.wav").write_bytes(wav)
        (folder / f"{r['id']}.txt").write_text(r["text"] + "\n", encoding="utf-8")
        if r.get("metier"):
            (folder / f"{r['id']}.json").write_text(
                json.dumps({"called_metiers": [r["metier"]]}), encoding="utf-8")
    print(json.dumps({"made": len(list(folder.glob("*.txt"))), "folder": str(folder)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--bias", choices=["prompt", "hotwords"])
    parser.add_argument("--make-espeak", action="store_true")
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--telephone", action="store_true")
    parser.add_argument("--quiet", action="store_true", help="only the summary line")
    args = parser.parse_args()

    import django

    django.setup()
    if args.make_espeak:
        make_espeak(args.folder, args.count, args.telephone)
        return
    from django.conf import settings

    from relais.voicemail import audio, transcription
    from relais.voicemail.understanding import understand

    files = sorted(p for p in args.folder.iterdir()
                   if p.suffix.lower() in AUDIO and p.with_suffix(".txt").is_file())
    if not files:
        sys.exit(f"{args.folder}: no recording with a reference .txt next to it")
    options = parse_options(args.option)
    t0 = time.perf_counter()
    model = transcription.get_model()
    load_s = round(time.perf_counter() - t0, 2)
    total = {"edits": 0, "ref_words": 0, "audio_s": 0.0, "elapsed_s": 0.0, "reliable": 0,
             "intent_same": 0, "metier_same": 0, "shareable_same": 0, "files": 0}
    for path in files:
        reference = path.with_suffix(".txt").read_text(encoding="utf-8").strip()
        meta_path = path.with_suffix(".json")
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        called = meta.get("called_metiers") or []
        opts = dict(options)
        if args.bias and called:
            words = vocabulary(called)
            opts["initial_prompt" if args.bias == "prompt" else "hotwords"] = (
                f"Message vocal pour un artisan. {words}." if args.bias == "prompt" else words)
        decoded = audio.decode(path.read_bytes())
        t = transcription.transcribe(decoded, model=model, options=opts)
        ref_words, hyp_words = normalise(reference), normalise(t.text)
        n_edits = edits(ref_words, hyp_words)
        on_ref = understand(reference, called_metiers=called)
        on_hyp = understand(t.text, called_metiers=called)
        same = {"intent_same": on_ref.intent == on_hyp.intent,
                "metier_same": on_ref.metier == on_hyp.metier,
                "shareable_same": on_ref.shareable == on_hyp.shareable}
        line = {"file": path.name, "audio_s": round(decoded.duration_s, 2),
                "wer": round(n_edits / max(1, len(ref_words)), 3),
                "rtf": round(t.elapsed_s / max(decoded.duration_s, 1e-6), 3),
                "reliable": t.reliable, "issues": t.issues, **same,
                "intent": on_hyp.intent, "metier": on_hyp.metier, "transcript": t.text}
        if not args.quiet:
            print(json.dumps(line, ensure_ascii=False), flush=True)
        total["edits"] += n_edits
        total["ref_words"] += len(ref_words)
        total["audio_s"] += decoded.duration_s
        total["elapsed_s"] += t.elapsed_s
        total["reliable"] += t.reliable
        total["files"] += 1
        for k, v in same.items():
            total[k] += v
    n = total["files"]
    print(json.dumps({
        "benchmark": "asr_wer", "folder": str(args.folder), "files": n,
        "model": str(settings.RELAIS_WHISPER_MODEL), "options": options, "bias": args.bias,
        "wer": round(total["edits"] / max(1, total["ref_words"]), 3),
        "rtf": round(total["elapsed_s"] / max(total["audio_s"], 1e-6), 3),
        "reliable_share": round(total["reliable"] / n, 3),
        **{k: round(total[k] / n, 3) for k in ("intent_same", "metier_same", "shareable_same")},
        "audio_s": round(total["audio_s"], 1), "model_load_s": load_s,
        "cores": os.cpu_count(), "load_average": round(os.getloadavg()[0], 2),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
