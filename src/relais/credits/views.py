"""Buying credits: the Stripe Checkout redirect and the signed webhook."""

import logging

import stripe
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from relais.pros.models import Professional

from . import stripe_checkout

logger = logging.getLogger(__name__)


@login_required
@require_POST
def buy(request):
    """Send the professional to Stripe Checkout for N packs of credits."""
    if not stripe_checkout.enabled():
        raise Http404("credit purchase is not enabled")
    professional = Professional.objects.filter(user=request.user).first()
    if professional is None:
        raise Http404("no professional account")
    try:
        packs = int(request.POST.get("packs", "1"))
        back = request.build_absolute_uri(reverse("space:credits"))
        url = stripe_checkout.start_checkout(professional, packs,
                                             success_url=back + "?paiement=ok",
                                             cancel_url=back + "?paiement=annule")
    except ValueError:
        messages.error(request, "Choisissez un nombre de lots valide.")
        return redirect("space:credits")
    except stripe.StripeError as exc:
        logger.error("Stripe Checkout unavailable: %s", exc)
        messages.error(request, "Le paiement en ligne est indisponible pour le moment. "
                                "Réessayez plus tard.")
        return redirect("space:credits")
    return redirect(url)


@csrf_exempt  # authenticated by Stripe's signature instead
@require_POST
def stripe_webhook(request):
    try:
        result = stripe_checkout.handle_webhook(request.body,
                                                request.headers.get("Stripe-Signature"))
    except stripe_checkout.WebhookRejected as exc:
        logger.warning("Stripe webhook rejected: %s", exc)
        return HttpResponseBadRequest("rejected", content_type="text/plain")
    return HttpResponse(f"{result.event_id}: {result.note}", content_type="text/plain")
