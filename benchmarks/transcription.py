"""Transcription speed: real-time factor of the configured Whisper model on a voicemail.

    .venv/bin/python benchmarks/transcription.py [--seconds 45] [--model base]
        [--beam-size N] [--batch-size N] [--threads N] [--compute-type int8]
        [--telephone] [--no-vad] [--runs 3]

Speaks a realistic French voicemail with espeak-ng (several sentences, cut to about
``--seconds``), optionally through an 8 kHz μ-law telephone line (``--telephone``),
decodes it like a recording, then transcribes it ``--runs`` times with the model
already loaded. Prints one JSON line: ``rtf`` (median processing time / audio
duration), ``rtf_min``, ``cpu_rtf`` (CPU seconds of all threads per audio second,
less sensitive to other processes on the machine), model load and first-use
assembly times, and the settings used. Progress goes to stderr.
"""

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relais.settings")
os.environ.setdefault("RELAIS_ALLOW_KEY_FILE", "1")
os.environ.setdefault("RELAIS_DATA_DIR", str(ROOT / "var"))

SENTENCES = [
    "Bonjour Monsieur, ici Claire Martin.",
    "Je vous appelle parce que j'ai une fuite d'eau sous l'évier de la cuisine depuis ce matin.",
    "J'ai coupé l'arrivée d'eau, mais il faudrait que quelqu'un passe assez vite.",
    "J'habite au douze rue des Lilas à Villeurbanne, au troisième étage, la porte à gauche.",
    "Je suis disponible demain toute la journée, ou bien jeudi après-midi à partir de quatorze "
    "heures.",
    "Est-ce que vous pourriez me faire un devis pour la réparation, et peut-être aussi pour "
    "changer le robinet, qui est assez vieux ?",
    "Le syndic m'a donné votre numéro, il paraît que vous travaillez souvent dans le quartier.",
    "Il y a aussi une petite tache d'humidité au plafond de la salle de bains, chez le voisin "
    "du dessous, alors ce serait bien de regarder ça en même temps.",
    "Si ce n'est pas possible cette semaine, dites-le-moi, que je puisse chercher quelqu'un "
    "d'autre.",
    "Vous pouvez me rappeler au zéro six, douze, trente-quatre, cinquante-six, soixante-dix-huit, "
    "ou m'envoyer un message.",
    "Merci beaucoup, bonne journée, au revoir.",
]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def speak(text: str, speed: int) -> bytes:
    espeak = shutil.which("espeak-ng") or "/usr/bin/espeak-ng"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "v.wav"
        subprocess.run(
            [espeak, "-v", "fr", "-s", str(speed), "-w", str(out), "--", text],
            check=True, capture_output=True,
        )
        return out.read_bytes()


def telephone_line(samples) -> bytes:
    """8 kHz μ-law WAV, as a telephony provider records."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="wav") as out:
        stream = out.add_stream("pcm_mulaw", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
        frame.sample_rate = 16000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return buf.getvalue()


def make_clip(seconds: float, speed: int, telephone: bool):
    import numpy as np

    from relais.voicemail.audio import SAMPLE_RATE, decode

    parts, total = [], 0.0
    pause = np.zeros(int(0.6 * SAMPLE_RATE), np.float32)
    for sentence in SENTENCES * 3:
        x = decode(speak(sentence, speed), max_seconds=600).samples
        parts += [x, pause]
        total += (x.size + pause.size) / SAMPLE_RATE
        if total >= seconds:
            break
    samples = np.concatenate([np.zeros(SAMPLE_RATE // 2, np.float32), *parts])
    if telephone:
        samples = decode(telephone_line(samples), max_seconds=3600).samples
    return samples


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return ""
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument("--model", default=None, help="size name or CTranslate2 folder")
    parser.add_argument("--beam-size", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None, help="0 = sequential")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--compute-type", default=None)
    parser.add_argument("--language", default=None)
    parser.add_argument("--speed", type=int, default=150, help="espeak-ng words per minute")
    parser.add_argument("--telephone", action="store_true", help="8 kHz μ-law line")
    parser.add_argument("--no-vad", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--show-text", action="store_true", help="include the transcript")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    from relais.voicemail import transcription as tr

    load_average = os.getloadavg()[0]
    log("speaking the voicemail with espeak-ng…")
    samples = make_clip(args.seconds, args.speed, args.telephone)
    audio_s = samples.size / 16000

    log("first-use assembly of the bundled model (into a temporary cache)…")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        tr.ensure_bundled_model(Path(tmp))
        assembly_s = time.perf_counter() - started
    started = time.perf_counter()
    if (args.model or settings.RELAIS_WHISPER_MODEL) == "base":
        tr.ensure_bundled_model()  # assembled or verified in the configured cache
    verify_s = time.perf_counter() - started

    log("loading the model…")
    loaded = tr.get_model(
        args.model, compute_type=args.compute_type, cpu_threads=args.threads
    )
    options = {
        "language": args.language,
        "beam_size": args.beam_size,
        "batch_size": args.batch_size,
        "vad": not args.no_vad,
        "model": loaded,
    }
    tr.transcribe(samples[: 3 * 16000], **options)  # warm-up (VAD session, allocators)
    timings, cpu_times, result = [], [], None
    for run in range(args.runs):
        log(f"run {run + 1}/{args.runs}…")
        cpu_started = time.process_time()
        result = tr.transcribe(samples, **options)
        cpu_times.append(time.process_time() - cpu_started)
        timings.append(result.elapsed_s)
    elapsed = statistics.median(timings)
    batch = settings.RELAIS_WHISPER_BATCH_SIZE if args.batch_size is None else args.batch_size
    figures = {
        "benchmark": "transcription",
        "rtf": round(elapsed / audio_s, 4),
        "rtf_min": round(min(timings) / audio_s, 4),
        "elapsed_s": round(elapsed, 3),
        # CPU seconds (all threads) per audio second: less sensitive to other load.
        "cpu_rtf": round(statistics.median(cpu_times) / audio_s, 4),
        "audio_s": round(audio_s, 2),
        "speech_s": result.speech_s,
        "words": len(result.words),
        "telephone": args.telephone,
        "model": loaded.name,
        "compute_type": loaded.compute_type,
        "threads": loaded.cpu_threads,
        "device": loaded.device,
        "beam_size": args.beam_size or settings.RELAIS_WHISPER_BEAM_SIZE,
        "batch_size": batch if not args.no_vad else 0,
        "vad": not args.no_vad,
        "language": result.language,
        "runs": args.runs,
        "model_load_s": round(loaded.load_seconds, 3),
        "checksum_verify_s": round(verify_s, 3),
        "first_use_assembly_s": round(assembly_s, 3),
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "load_average_1m": round(load_average, 2),
    }
    if args.show_text:
        figures["text"] = result.text
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
