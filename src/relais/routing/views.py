"""The delivery page behind a signed link, and the audio it streams.

``/r/<token>/`` shows ONE message — the one the link was made for — and nothing else:
no list, no navigation to other messages. Own message: transcript, recording, caller
number. Shared request: redacted transcript and bleeped extract only, never the number.
Recordings are streamed only here (or by :func:`owner_media` to the logged-in owner),
never from a public URL. What a delivery shows, and the audit of each read, is
:mod:`relais.routing.reads` (the space's message page reads through it too).
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from relais.core import audit
from relais.core.http import private as _private
from relais.voicemail.models import Voicemail

from . import access, links, notifications, policy, reads
from .models import Delivery


def _refuse(request, status: int, title: str, message: str):
    response = render(request, "routing/link_error.html",
                      {"title": title, "message": message}, status=status)
    return _private(response)


class Refused(Exception):
    def __init__(self, status: int, title: str, message: str):
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


def resolve(request, token: str) -> Delivery:
    """The delivery a token opens for this request, or Refused (403/410).

    A link is read on behalf of the professional its delivery was made for: logged in as
    another professional it is refused (403); it stops working (410, saying nothing about
    the message) once that professional no longer may read the delivery — withdrawn,
    erased, or the listing left them (:mod:`relais.routing.access`).
    """
    try:
        delivery_id, listing_id = links.read(token)
    except links.LinkExpired as exc:
        raise Refused(410, "Lien expiré",
                      "Ce lien a expiré. Connectez-vous à votre espace professionnel pour "
                      "retrouver vos messages.") from exc
    except links.LinkInvalid as exc:
        raise Refused(403, "Lien invalide",
                      "Ce lien n'est pas valide. Vérifiez qu'il est complet ou connectez-vous "
                      "à votre espace professionnel.") from exc
    delivery = (Delivery.objects.select_related("voicemail__metier", "listing__establishment")
                .filter(pk=delivery_id).first())
    if delivery is None:
        raise Refused(410, "Message indisponible", "Ce message n'est plus disponible.")
    if delivery.listing_id != listing_id:
        raise Refused(403, "Lien invalide", "Ce lien n'est pas valide pour ce message.")
    user = request.user
    if user.is_authenticated and hasattr(user, "professional") and (
        delivery.professional_id != user.professional.pk
    ):
        raise Refused(403, "Ce lien ne vous est pas destiné",
                      "Ce message a été adressé à un autre professionnel. Déconnectez-vous "
                      "pour utiliser ce lien, ou retournez à votre espace.")
    if not delivery.accessible or delivery.voicemail.status == Voicemail.Status.ERASED:
        raise Refused(410, "Message retiré",
                      "Ce message n'est plus disponible : l'appelant l'a retiré ou il a été "
                      "effacé.")
    if not access.may_read(delivery, delivery.professional_id):
        raise Refused(410, "Message indisponible", "Ce message n'est plus disponible.")
    return delivery


def _actor(request, delivery: Delivery) -> audit.Actor:
    user = request.user if request.user.is_authenticated else None
    return audit.Actor.link(delivery.listing, user)


@require_GET
def delivery_page(request, token: str):
    try:
        delivery = resolve(request, token)
    except Refused as refused:
        return _refuse(request, refused.status, refused.title, refused.message)
    vm = delivery.voicemail
    context = {
        "delivery": delivery,
        "voicemail": vm,
        "listing": delivery.listing,
        "token": token,
        "metier": vm.metier.label if vm.metier_id else "",
        "urgency": notifications.URGENCY_LABELS.get(vm.urgency, ""),
        "distance": policy.km(delivery.distance_km) if delivery.distance_km else "",
        "received_at": timezone.localtime(vm.created_at),
        # resolve() refused any other logged-in professional: this one owns the delivery.
        "space_url": (reverse("space:message", args=[delivery.pk])
                      if hasattr(request.user, "professional") else ""),
        **reads.read_delivery(delivery, _actor(request, delivery), via="link"),
    }
    return _private(render(request, "routing/delivery.html", context))


@require_GET
def delivery_media(request, token: str, which: str):
    try:
        delivery = resolve(request, token)
    except Refused as refused:
        return _refuse(request, refused.status, refused.title, refused.message)
    return reads.media_response(request, delivery, which, _actor(request, delivery))


@require_GET
@login_required
def owner_media(request, delivery_id, which: str):
    """The recording for the logged-in professional who may read the delivery (the inbox)."""
    professional = getattr(request.user, "professional", None)
    if professional is None:
        raise Http404("no such delivery")
    delivery = get_object_or_404(
        access.readable_deliveries(professional).select_related("listing__establishment"),
        pk=delivery_id)
    return reads.media_response(request, delivery, which,
                                audit.Actor.professional(request.user, delivery.listing))
