"""The caller portal (/appelant/): thin views over relais.privacy.services.

The verified session holds ONE voicemail id and an expiry; no identifier of a message
ever appears in a portal URL. Pages are private (no cache, no index).
"""

import time

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from relais.core import audit, http
from relais.core.http import private as _private
from relais.core.network import client_network
from relais.voicemail.models import Voicemail

from . import services
from .forms import CodeForm, EraseForm, RequestForm

CHALLENGE = "relais.portal.challenge"
PORTAL = "relais.portal"


def portal_voicemail(request) -> Voicemail | None:
    """The voicemail this session was verified for, while the session lasts."""
    data = request.session.get(PORTAL)
    if not data:
        return None
    if data.get("until", 0) < time.time():
        request.session.pop(PORTAL, None)
        messages.info(request, "Votre session a expiré : demandez un nouveau code.")
        return None
    return Voicemail.objects.filter(pk=data["voicemail"]).first()


def _required(view):
    def wrapped(request, *args, **kwargs):
        vm = portal_voicemail(request)
        if vm is None:
            return redirect("privacy:start")
        return view(request, vm, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@require_http_methods(["GET", "POST"])
def start(request):
    """Reference + number → a one-time code by SMS (same answer whether or not it matches)."""
    form = RequestForm(request.POST or None)
    if request.method == "POST" and not services.network_allowed(client_network(request)):
        form.add_error(None, "Trop de demandes de code depuis cette connexion. "
                             "Réessayez dans une heure.")
        return _private(render(request, "privacy/start.html", {"form": form}, status=429))
    if request.method == "POST" and form.is_valid():
        try:
            challenge = services.request_code(form.cleaned_data["reference"],
                                              form.cleaned_data["number"])
        except services.PortalError as exc:
            form.add_error(None, exc.message)
        else:
            request.session[CHALLENGE] = str(challenge.pk)
            messages.info(request, services.CODE_SENT)
            return redirect("privacy:code")
    status = 400 if request.method == "POST" else 200
    return _private(render(request, "privacy/start.html", {"form": form}, status=status))


@require_http_methods(["GET", "POST"])
def code(request):
    if not request.session.get(CHALLENGE):
        return redirect("privacy:start")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            vm = services.verify_code(request.session[CHALLENGE], form.cleaned_data["code"])
        except services.PortalError as exc:
            form.add_error(None, exc.message)
        else:
            request.session.cycle_key()
            request.session.pop(CHALLENGE, None)
            request.session[PORTAL] = {
                "voicemail": str(vm.pk),
                "until": time.time() + settings.RELAIS_PORTAL_SESSION_SECONDS,
            }
            return redirect("privacy:message")
    status = 400 if request.method == "POST" else 200
    return _private(render(request, "privacy/code.html", {"form": form}, status=status))


@require_GET
@_required
def message(request, vm):
    summary = services.portal_summary(vm)
    return _private(render(request, "privacy/message.html", {
        "s": summary, "vm": summary.voicemail, "erase_form": EraseForm(),
    }))


@require_GET
@_required
def audio(request, vm):
    """The caller's own recording, streamed and audited (never a public URL)."""
    if vm.status == Voicemail.Status.ERASED or not vm.audio:
        raise Http404("no recording")
    response = http.ranged_file_response(
        request, vm.audio, f"message-{vm.reference}.{http.extension(vm.audio.name)}")
    if http.served(response):
        audit.record(actor=audit.Actor.caller(), action=audit.READ_AUDIO, voicemail=vm,
                     detail={"via": "portal", "range": request.headers.get("Range", "")})
    return response


@require_POST
@_required
def withdraw(request, vm):
    result = services.withdraw_sharing(vm)
    messages.info(request, result.message)
    return redirect("privacy:message")


@require_POST
@_required
def erase(request, vm):
    form = EraseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Cochez la case pour confirmer l'effacement.")
        return redirect("privacy:message")
    result = services.erase(vm)
    messages.info(request, result.message)
    return redirect("privacy:message")


@require_POST
def leave(request):
    request.session.pop(PORTAL, None)
    request.session.pop(CHALLENGE, None)
    messages.info(request, "Vous avez quitté votre espace appelant.")
    return redirect("privacy:start")
