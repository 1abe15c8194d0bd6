"""The demo's pages: the demo phone, the outbox, and the local provider's recordings.

They exist only where the demo app is installed (``RELAIS_DEMO``), and still answer 404
when ``RELAIS_DEMO`` is off.
"""

import json
import secrets
from pathlib import Path

from django.conf import settings
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from relais.calls import numbers, security
from relais.calls.providers import local
from relais.core import phones
from relais.core.models import OutboxMessage

from . import local_provider
from .forms import DemoCallForm
from .phone import InProcess, LocalPhone, PhoneError

# --- The demo phone ---------------------------------------------------------------------


def _demo_caller() -> str:
    return phones.format_fr(f"{numbers.DEMO_CALLER_PREFIX}{secrets.randbelow(10_000):04d}")


# A spoken request (espeak-ng) for visitors without a microphone, also downloadable.
SAMPLE_MESSAGE = Path(__file__).resolve().parent / "static" / "demo" / "message-exemple.wav"


def demo_phone(request):
    """Place a call from the browser through the very same webhooks (demo sites only)."""
    if not settings.RELAIS_DEMO:
        raise Http404
    result = None
    error = None
    if request.method == "POST":
        form = DemoCallForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            audio = data.get("audio")
            sample = data.get("sample") and not audio and data["outcome"] != "answer"
            try:
                result = LocalPhone(InProcess()).call(
                    data["to_number"] or data["listing_number"], data["caller"],
                    SAMPLE_MESSAGE.read_bytes() if sample else audio.read() if audio else None,
                    audio.content_type if audio else "audio/wav",
                    audio.name if audio else SAMPLE_MESSAGE.name,
                    answer=data["outcome"], consent=data["consent"],
                )
            except PhoneError as exc:
                error = str(exc)
    else:
        form = DemoCallForm(initial={"caller": _demo_caller()})
    return render(request, "demo/phone.html",
                  {"form": form, "result": result, "error": error,
                   "outbox_url": reverse("demo:outbox"), "login_url": reverse("pros:login")})


# --- The outbox -------------------------------------------------------------------------

def outbox(request):
    """Emails and SMS the embedded default keeps instead of sending (RELAIS_DEMO only)."""
    if not settings.RELAIS_DEMO:
        raise Http404
    messages = OutboxMessage.objects.all()
    kind = request.GET.get("type")
    if kind in OutboxMessage.Kind.values:
        messages = messages.filter(kind=kind)
    page = Paginator(messages, 20).get_page(request.GET.get("page"))
    return render(request, "demo/outbox.html", {"page": page, "kind": kind})


# --- The local provider's recordings ------------------------------------------------------

@csrf_exempt  # authenticated with HTTP Basic (account SID + token), not cookies
def local_recording(request, recording_sid: str, ext: str = ""):
    """The local provider's recordings: GET downloads (like Twilio's REST API), PUT uploads.

    Exists only on demo sites (this app), while the local provider is enabled
    (:mod:`relais.calls.providers.local`: demo mode).
    """
    if not local.PROVIDER.enabled():
        raise Http404
    if not security.RECORDING_SID.match(recording_sid):
        raise Http404
    if not local.PROVIDER.basic_auth_ok(request):
        response = HttpResponse("authentication required", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Basic realm="Relais local provider"'
        return response
    if request.method == "GET":
        found = local_provider.open_recording(recording_sid)
        if found is None:
            raise Http404
        handle, content_type = found
        return FileResponse(handle, content_type=content_type)
    if request.method == "PUT":
        try:
            local_provider.store_recording(  # streamed: no DATA_UPLOAD_MAX_MEMORY_SIZE
                recording_sid, request, request.content_type or "application/octet-stream"
            )
        except local_provider.RecordingTooLarge as exc:
            return HttpResponse(str(exc), status=413, content_type="text/plain")
        body = {"url": local_provider.recording_url(recording_sid)}
        return HttpResponse(json.dumps(body), status=201, content_type="application/json")
    return HttpResponseNotAllowed(["GET", "PUT"])
