"""What a delivery lets its reader see: the one read path of a message's personal data.

Who may open a delivery is decided before, by :mod:`relais.routing.access`
(``readable_deliveries`` / ``may_read`` for the professional's space and its owner media,
a valid signed link — :func:`relais.routing.views.resolve` — for ``/r/<token>/``). Once
it is, every page and every player reads through these two functions, which also write
the audit rows (:mod:`relais.core.audit`):

- :func:`read_delivery` — the message page's personal data. Own message: transcript,
  caller's number, the recording (``audio``). Shared request: redacted text and the
  bleeped extract (``extract``), never the number — only an unlock reveals it
  (:func:`relais.credits.services.reveal`, which the space calls). Marks the delivery
  opened; one audit row per datum shown, ``detail={"via": via}``.
- :func:`media_response` — the recording of an own delivery or the extract of any,
  streamed with byte ranges and private headers (:mod:`relais.core.http`); one audit row
  per request that hands out bytes, ``detail={"range": …}``; 404 for a file the delivery
  does not give.
"""

from django.http import Http404
from django.utils import timezone

from relais.core import audit, http
from relais.core.phones import format_fr

from .models import Delivery

MEDIA_ACTIONS = {"audio": audit.READ_AUDIO, "extract": audit.READ_EXTRACT}


def read_delivery(delivery: Delivery, actor: audit.Actor, via: str) -> dict:
    """What ``delivery`` shows its reader, each personal datum's read audited.

    Keys: ``is_own``, ``transcript_reliable`` (False: "transcription incertaine — écoutez
    le message"), ``transcript`` and ``caller_number`` / ``caller_e164`` (own only),
    ``redacted_text`` (shared only), ``has_audio`` and ``audio_which`` (the file
    :func:`media_response` streams for it: ``audio`` or ``extract``).
    """
    vm = delivery.voicemail
    detail = {"via": via}
    Delivery.objects.filter(pk=delivery.pk, first_opened_at__isnull=True).update(
        first_opened_at=timezone.now())
    seen = {"is_own": delivery.is_own, "transcript": "", "redacted_text": "",
            "caller_number": "", "caller_e164": "",
            "transcript_reliable": vm.transcript_reliable}
    if delivery.is_own:
        seen.update(transcript=vm.transcript, has_audio=bool(vm.audio), audio_which="audio")
        if vm.transcript:
            audit.record(actor=actor, action=audit.READ_TRANSCRIPT, delivery=delivery,
                         voicemail=vm, detail=detail)
        if vm.caller_e164:
            seen.update(caller_number=format_fr(vm.caller_e164), caller_e164=vm.caller_e164)
            audit.record(actor=actor, action=audit.READ_CALLER_NUMBER, delivery=delivery,
                         voicemail=vm, detail=detail)
        return seen
    seen.update(redacted_text=vm.redacted_text, has_audio=bool(vm.extract),
                audio_which="extract")
    if vm.redacted_text:
        audit.record(actor=actor, action=audit.READ_REDACTED, delivery=delivery, voicemail=vm,
                     detail=detail)
    return seen


def media_file(delivery: Delivery, which: str):
    """The stored file ``which`` (``audio``: own deliveries only; ``extract``) of
    ``delivery``, or Http404 when the delivery gives no such file."""
    vm = delivery.voicemail
    if which == "audio" and delivery.is_own and vm.audio:
        return vm.audio
    if which == "extract" and vm.extract:
        return vm.extract
    raise Http404("no such recording for this delivery")


def media_response(request, delivery: Delivery, which: str, actor: audit.Actor):
    """Stream the delivery's ``which`` file (:func:`media_file`), audited when bytes go out."""
    fieldfile = media_file(delivery, which)
    response = http.ranged_file_response(
        request, fieldfile, delivery.media_filename(which, http.extension(fieldfile.name)))
    if http.served(response):
        audit.record(actor=actor, action=MEDIA_ACTIONS[which], delivery=delivery,
                     voicemail=delivery.voicemail,
                     detail={"range": request.headers.get("Range", "")})
    return response
