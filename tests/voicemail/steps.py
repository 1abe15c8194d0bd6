"""Step functions used by the pipeline-mechanics tests (real pipeline, test work)."""

import os
import time
from datetime import timedelta
from pathlib import Path

from relais.voicemail import pipeline
from relais.voicemail.pipeline import Step, Stop, Wait

CALLS: list[tuple[str, str]] = []


def ok(voicemail):
    CALLS.append(("ok", str(voicemail.pk)))


def append_transcript(voicemail):
    # Idempotent: sets, never appends, whatever the number of runs.
    type(voicemail).objects.filter(pk=voicemail.pk).update(transcript="bonjour")


def flaky(voicemail):
    """Fails on the first two attempts, then succeeds."""
    CALLS.append(("flaky", str(voicemail.pk)))
    if sum(1 for c in CALLS if c == ("flaky", str(voicemail.pk))) <= 2:
        raise ConnectionError("provider unavailable")


def broken(voicemail):
    raise ValueError("cannot decode")


def reject(voicemail):
    raise Stop("rejected", "not a voice message: silence only")


WAIT = timedelta(hours=1)


def wait_for_transcript(voicemail):
    """Cannot run before the voicemail has a transcript: waits (an hour at most)."""
    CALLS.append(("wait", str(voicemail.pk)))
    current = type(voicemail).objects.get(pk=voicemail.pk)
    if not current.transcript:
        raise Wait(current.created_at + WAIT, "pas encore de transcription")


def missed_by_a_hair(voicemail):
    """Looks (no transcript yet), then the transcript arrives and wakes the step while
    it is still running, then it says it waits: the wake must not be lost."""
    CALLS.append(("hair", str(voicemail.pk)))
    current = type(voicemail).objects.get(pk=voicemail.pk)
    if not current.transcript:
        type(voicemail).objects.filter(pk=voicemail.pk).update(transcript="bonjour")
        pipeline.wake(voicemail.pk)
        raise Wait(current.created_at + WAIT, "pas encore de transcription")


def slow_once(voicemail):
    """First run: announces itself with a marker file, then hangs (to be killed)."""
    marker = Path(os.environ["RELAIS_TEST_MARKER"])
    if not marker.exists():
        marker.write_text("started")
        time.sleep(120)


# For a worker subprocess (RELAIS_TEST_PIPELINE=tests.voicemail.steps.SLOW_THEN_OK).
SLOW_THEN_OK = [Step(slow_once, "transcription", name="slow"), Step(ok, "default", name="after")]
