"""The voicemail's own pipeline steps: normalise → transcribe → understand → redact.

Each is idempotent (it overwrites what an earlier run wrote) and raises to be retried;
an unusable recording ends the pipeline with :class:`~relais.voicemail.pipeline.Stop`.
The audio is decoded again by each step that needs samples: decoding is cheap next to
transcription, and no second copy of the caller's voice is kept.
"""

from django.core.files.base import ContentFile
from django.db import transaction

from . import audio, transcription
from .models import Voicemail, is_text
from .pipeline import Stop
from .understanding import redact as redact_text
from .understanding import understand as understand_text


def _unerased(voicemail: Voicemail):
    """The voicemail's row unless it was erased meanwhile: a step never writes back
    personal data into an erased message (erasure locks the row, then this UPDATE's
    condition is evaluated again)."""
    return Voicemail.objects.filter(pk=voicemail.pk).exclude(status=Voicemail.Status.ERASED)


def _decoded(voicemail: Voicemail) -> audio.Decoded:
    if not voicemail.audio:
        raise RuntimeError(f"message {voicemail.reference}: no recording stored yet")
    with voicemail.audio.open("rb") as f:
        try:
            return audio.decode(f)
        except audio.AudioError as err:
            raise Stop(Voicemail.Status.REJECTED, f"{err.code}: {err.message}") from err


def normalise(voicemail: Voicemail) -> None:
    """Check the recording is a voice message we can process; store its duration."""
    if is_text(voicemail):
        return  # a written request (SMS): nothing to decode
    decoded = _decoded(voicemail)
    _unerased(voicemail).update(
        duration_seconds=round(decoded.duration_s, 2)
    )


def transcribe(voicemail: Voicemail) -> None:
    if is_text(voicemail):
        return  # a written request (SMS): its text is the transcript already
    decoded = _decoded(voicemail)
    t = transcription.transcribe(decoded)
    _unerased(voicemail).update(
        transcript=t.text,
        words=t.words,
        language=t.language,
        transcript_reliable=t.reliable,
        speech={
            "model": t.model,
            "language_probability": t.language_probability,
            "speech_s": t.speech_s,
            "elapsed_s": round(t.elapsed_s, 3),
            "unreliable": [list(i) for i in t.unreliable_intervals()],
            "issues": t.issues,
            "raw_words": t.raw_words,
        },
    )


def understand(voicemail: Voicemail) -> None:
    called = (
        list(voicemail.listing.metiers.values_list("slug", flat=True))
        if voicemail.listing_id else []
    )
    u = understand_text(voicemail.transcript, called_metiers=called)
    _unerased(voicemail).update(
        intent=u.intent,
        shareable=u.shareable,
        confidence=u.confidence,
        metier_id=u.metier,
        urgency=u.urgency,
        reasons=list(u.reasons),
    )


def redact(voicemail: Voicemail) -> None:
    """The redacted transcript, and — for a message that may be shared — a bleeped extract.

    Other professionals only ever get these two. The extract bleeps every word the text
    redaction covered, plus the stretches Whisper itself distrusts (words said there may
    be missing from the text, so they could hold a number nobody redacted).
    """
    r = redact_text(voicemail.transcript)
    extract = b""
    if voicemail.shareable and voicemail.words:
        intervals = transcription.time_intervals_for_char_spans(
            voicemail.words, [(s.start, s.end) for s in r.spans]
        )
        intervals += [tuple(i) for i in voicemail.speech.get("unreliable", [])]
        extract = audio.make_extract(_decoded(voicemail).samples, intervals)
    with transaction.atomic():
        vm = Voicemail.objects.select_for_update().get(pk=voicemail.pk)
        if vm.status == Voicemail.Status.ERASED:
            return
        old = vm.extract.name if vm.extract else ""
        vm.redacted_text = r.text
        if extract:
            vm.extract.save(f"extrait.{audio.extract_extension()}", ContentFile(extract),
                            save=False)
        else:
            vm.extract = ""
        vm.save(update_fields=["redacted_text", "extract", "updated_at"])
    if old and old != vm.extract.name:
        vm.extract.storage.delete(old)
