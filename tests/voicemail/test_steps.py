"""The voicemail's own steps (normalise → transcribe → understand → redact) on real audio
with the real Whisper model, through the pipeline worker."""

import io

import av
import numpy as np
import pytest
from django.core.files.base import ContentFile

from relais.calls.models import TrackingNumber
from relais.voicemail import audio, recordings
from relais.voicemail import steps as voicemail_steps
from relais.voicemail.models import PipelineStep, Voicemail
from relais.voicemail.pipeline import Step
from relais.voicemail.understanding import INTENTS
from tests.clips import speak
from tests.factories import PHONE_CALLER as CALLER
from tests.factories import REQUEST, TRACKING, make_listing
from tests.helpers import drain

UP_TO_REDACT = [
    Step(recordings.fetch_step, "audio", name="fetch"),
    Step(voicemail_steps.normalise, "audio"),
    Step(voicemail_steps.transcribe, "transcription"),
    Step(voicemail_steps.understand, "default"),
    Step(voicemail_steps.redact, "audio"),
]
OWN = UP_TO_REDACT[1:]

def plumber():
    listing = make_listing()
    listing.metiers.add("plombier")
    return listing


@pytest.mark.whisper
@pytest.mark.django_db(transaction=True)
def test_a_captured_voicemail_goes_through_every_step(live_server, settings, tmp_path,
                                                      whisper_model):
    from relais.demo.phone import InProcess, LocalPhone

    settings.RELAIS_PUBLIC_URL = live_server.url
    settings.RELAIS_PIPELINE = UP_TO_REDACT
    TrackingNumber.objects.create(e164=TRACKING, listing=plumber())
    clip = speak(REQUEST, tmp_path / "message.wav", speed=110)
    result = LocalPhone(InProcess()).call(TRACKING, CALLER, clip.read_bytes(), consent="share")
    drain()
    vm = Voicemail.objects.get(reference=result.voicemail_reference)
    steps = list(PipelineStep.objects.filter(voicemail=vm))
    assert [(s.name, s.status) for s in steps] == [(step.name, "done") for step in UP_TO_REDACT]
    assert all(s.duration_ms is not None for s in steps)
    assert vm.status == Voicemail.Status.DONE
    assert vm.duration_seconds == pytest.approx(audio.decode(clip.read_bytes()).duration_s, 0.01)
    assert vm.language == "fr" and vm.speech["model"]
    assert vm.words and vm.transcript == "".join(w["word"] for w in vm.words).strip()
    assert all(0 <= w["start"] <= w["end"] <= vm.duration_seconds + 0.5 for w in vm.words)
    assert vm.intent in INTENTS and vm.reasons
    # The request for a plumber, said by a robotic voice, is still understood as one.
    assert (vm.intent, vm.metier_id, vm.shareable) == ("quote_request", "plombier", True)
    assert vm.redacted_text
    assert vm.extract  # a shareable message gets its bleeped extract
    extract = audio.decode(vm.extract.read(), max_seconds=60)
    assert extract.duration_s <= settings.RELAIS_EXTRACT_SECONDS + 0.1


def tone_energy(samples, start, end, freq=1000.0):
    """Share of the signal's energy at ``freq`` between two times (seconds)."""
    part = samples[int(start * 16000): int(end * 16000)]
    spectrum = np.abs(np.fft.rfft(part)) ** 2
    freqs = np.fft.rfftfreq(part.size, 1 / 16000)
    band = (freqs > freq - 30) & (freqs < freq + 30)
    return spectrum[band].sum() / spectrum.sum()


@pytest.mark.whisper
@pytest.mark.django_db(transaction=True)
def test_redact_bleeps_the_words_it_redacted_in_the_extract(settings, tmp_path,
                                                            whisper_model):
    settings.RELAIS_PIPELINE = OWN
    clip = speak("Bonjour, je cherche un plombier pour une fuite sous l'évier de ma cuisine, "
                 "c'est assez urgent, merci beaucoup.", tmp_path / "m.wav", speed=120)
    vm = Voicemail.objects.create(listing=plumber(), caller_e164=CALLER,
                                  status=Voicemail.Status.RECEIVED)
    vm.audio.save("m.wav", ContentFile(clip.read_bytes()))
    settings.RELAIS_PIPELINE = OWN[:2]  # normalise, transcribe
    from relais.voicemail import pipeline

    pipeline.start(vm)
    drain()
    vm.refresh_from_db()
    assert len(vm.words) >= 8
    # Put a phone number where words 3-6 were said: the text changes, the timing is real.
    words = [dict(w) for w in vm.words]
    for w, digits in zip(words[3:7], ("06", "12", "34", "56"), strict=True):
        w["word"] = f" {digits}"
    transcript = "".join(w["word"] for w in words).strip()
    Voicemail.objects.filter(pk=vm.pk).update(words=words, transcript=transcript,
                                              shareable=True)
    settings.RELAIS_PIPELINE = OWN
    pipeline.retry_failed(vm)  # nothing failed: no-op
    from relais.voicemail.steps import redact

    vm.refresh_from_db()
    redact(vm)
    redact(vm)  # idempotent: one extract file, same text
    vm.refresh_from_db()
    assert "06 12 34 56" not in vm.redacted_text and "[téléphone]" in vm.redacted_text
    extract = audio.decode(vm.extract.read())
    start, end = words[3]["start"], words[6]["end"]
    assert tone_energy(extract.samples, start, end) > 0.9
    later = [w for w in words[7:] if w["start"] > end + 0.6]
    assert later, words
    assert tone_energy(extract.samples, later[0]["start"], later[-1]["end"]) < 0.5
    # Running the step again replaced the extract: one file, not two.
    folder, _ = vm.extract.name.rsplit("/", 1)
    _, files = vm.extract.storage.listdir(folder)
    assert len([f for f in files if "extrait" in f]) == 1


@pytest.mark.django_db(transaction=True)
def test_a_silent_recording_is_rejected_explicitly(settings):
    settings.RELAIS_PIPELINE = OWN
    silence = io.BytesIO()
    with av.open(silence, "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 8000 * 3), dtype=np.int16),
                                           format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    vm = Voicemail.objects.create(listing=plumber(), caller_e164=CALLER)
    vm.audio.save("silence.wav", ContentFile(silence.getvalue()))
    from relais.voicemail import pipeline

    pipeline.start(vm)
    drain()
    vm.refresh_from_db()
    assert vm.status == Voicemail.Status.REJECTED
    assert vm.status_detail.startswith("silent:")
    assert [s.status for s in vm.steps.order_by("position")] == ["done", "skipped", "skipped",
                                                                   "skipped"]
    assert vm.transcript == "" and not vm.extract
