"""Hang-up to last email for a 30-second message, through every real part.

    .venv/bin/python benchmarks/hangup.py [--seconds 30] [--recipients 5] [--database-url URL]

A 30-second French plumbing request spoken by espeak-ng and recorded as a provider does
(8 kHz μ-law WAV); a called plumber near Nantes with a tracking number, and N other
plumbers nearby. Running before the clock starts, each in its own process: gunicorn
(the webhooks' host and the local provider's recording URL), ``relais db_worker`` on
every queue (warmed by one short message first, so that the Whisper model is loaded as
in a running deployment), and an aiosmtpd server (benchmarks/_smtp_sink.py).

``relais simulate_call --no-answer --consent share`` places the call over HTTP against
gunicorn (ringing, voicemail, recording, key 1, hang-up). The clock starts when it
returns (the caller has hung up and every callback has been answered) and stops when
the SMTP server has accepted the last email (the called plumber's own + the shared
ones). Each pipeline step's queue wait and run time come from its PipelineStep row.
Prints one JSON line.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _setup import ROOT, LoadSampler, django_setup, prepare, stop
from fanout import SmtpSink, free_port, make_listings
from transcription import SENTENCES, speak

TRACKING = "+33199000002"
CALLER = "+33639980042"


def clip(seconds: float, path: Path) -> Path:
    """A μ-law 8 kHz WAV of about ``seconds`` of speech."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from tests.clips import read_wav, write_audio

    text, samples, sr = "", None, 16000
    for sentence in SENTENCES * 3:
        text = f"{text} {sentence}".strip()
        wav = path.with_suffix(".speech.wav")
        wav.write_bytes(speak(text, 150))
        samples, sr = read_wav(wav)
        wav.unlink()
        if len(samples) / sr >= seconds:
            break
    samples = samples[: int(seconds * sr)]
    return write_audio(np.asarray(samples), sr, path, fmt="ulaw")


def call(audio: Path, env: dict, url: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "relais.cli", "simulate_call", "--to", TRACKING, "--from",
         CALLER, "--audio", str(audio), "--no-answer", "--consent", "share", "--json",
         "--url", url],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    if result.returncode:
        sys.exit(f"simulate_call failed: {result.stdout}{result.stderr}")
    return json.loads(result.stdout)


def emails_of(reference: str, timeout: float) -> int:
    """Waits until the voicemail's pipeline has ended; the number of emails it sends."""
    from django.db import close_old_connections

    from relais.routing.models import Delivery
    from relais.voicemail.models import Voicemail

    deadline = time.monotonic() + timeout
    while True:
        close_old_connections()
        vm = Voicemail.objects.filter(reference=reference).first()
        if vm is not None and vm.status in (Voicemail.Status.DONE, Voicemail.Status.FAILED,
                                            Voicemail.Status.REJECTED, Voicemail.Status.ERASED):
            break
        if time.monotonic() > deadline:
            sys.exit(f"voicemail {reference} still {vm and vm.status} after {timeout} s")
        time.sleep(0.05)
    return Delivery.objects.filter(voicemail=vm, channel=Delivery.Channel.INSTANT).exclude(
        status__in=[Delivery.Status.SKIPPED, Delivery.Status.UNNOTIFIED]).count()


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - our own local server
            return
        except OSError as e:
            if getattr(e, "code", None):  # an HTTP error: the server answers
                return
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--recipients", type=int, default=5,
                        help="other plumbers nearby (the shared copies, at most 5 by default)")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--database-url", help="a throw-away PostgreSQL database (name "
                        "containing 'bench'); default: SQLite in a temporary folder")
    args = parser.parse_args()

    sink = SmtpSink()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    os.environ.update({
        "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
        "RELAIS_PUBLIC_URL": url,
        "SECURE_SSL_REDIRECT": "false",
        "RELAIS_ALLOW_KEY_FILE": "1",
        "RELAIS_DEMO": "1",
        "RELAIS_CALLER_RATE_LIMIT": "0",
    })
    data_dir = prepare(args.database_url)
    django_setup()
    from django.db import connection
    from django.db.models import Count

    from relais.calls.models import TrackingNumber
    from relais.pros.models import Listing
    from relais.voicemail.models import Voicemail

    make_listings(args.recipients, seed=2)
    called = Listing.objects.get(establishment_id="90000000000000")
    called.forward_number = "+33261910099"
    called.save(update_fields=["forward_number"])
    TrackingNumber.objects.create(e164=TRACKING, listing=called)
    connection.close()

    audio = clip(args.seconds, data_dir / "message.wav")
    warm = data_dir / "warm.wav"
    warm.write_bytes(speak("Bonjour, je cherche un plombier pour une fuite d'eau. Merci de me "
                           "rappeler.", 110))

    env = os.environ.copy()
    processes = [
        subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "relais.wsgi",
                          "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                         cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, "-m", "relais.cli", "db_worker", "--no-startup-delay",
                          "--interval", "0.1"], cwd=ROOT, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    try:
        wait_http(url + "/")
        # The warm-up loads the model in the worker, as in a running deployment.
        warm_vm = call(warm, env, url)["voicemail_reference"]
        warm_emails = emails_of(warm_vm, args.timeout)
        if not sink.wait_for(warm_emails, args.timeout):
            sys.exit(f"warm-up: {len(sink.times)} of {warm_emails} emails")
        time.sleep(2)
        load = LoadSampler(every=2)
        started = time.time()
        result = call(audio, env, url)
        hung_up = time.time()
        expected = emails_of(result["voicemail_reference"], args.timeout)
        complete = sink.wait_for(warm_emails + expected, args.timeout)
        load_average = load.mean()
    finally:
        stop(*processes)
        sink.stop()

    emails = sink.times[warm_emails:]
    vm = Voicemail.objects.get(reference=result["voicemail_reference"])
    steps = {}
    first = vm.steps.order_by("position").first()
    pipeline_began = first.enqueued_at.timestamp() if first and first.enqueued_at else None
    for s in vm.steps.order_by("position"):
        steps[s.name] = {
            "wait_s": round((s.started_at - s.enqueued_at).total_seconds(), 2)
            if s.started_at and s.enqueued_at else None,
            "run_s": round(s.duration_ms / 1000, 2) if s.duration_ms is not None else None,
            "attempts": s.attempts,
        }
    print(json.dumps({
        "benchmark": "hangup_to_last_email",
        "database": connection.vendor,
        "audio_s": round(audio_duration(audio), 1),
        "complete": complete,
        "emails": len(emails),
        "emails_expected": expected,
        "recipients": dict(vm.deliveries.values_list("kind").annotate(n=Count("pk"))
                           .order_by()),
        "call_s": round(hung_up - started, 2),
        "hangup_to_first_email_s": round(emails[0] - hung_up, 2) if emails else None,
        "hangup_to_last_email_s": round(emails[-1] - hung_up, 2) if emails else None,
        # The pipeline starts when the recording is ready, while the caller still answers
        # the consent question: from then to the last email.
        "recording_to_last_email_s": round(emails[-1] - pipeline_began, 2)
        if emails and pipeline_began else None,
        "steps": steps,
        "status": vm.status,
        "intent": vm.intent,
        "metier": vm.metier_id,
        "load_average": load_average,
    }, ensure_ascii=False))


def audio_duration(path: Path) -> float:
    import av

    with av.open(str(path)) as f:
        return float(f.duration / av.time_base)


if __name__ == "__main__":
    main()
