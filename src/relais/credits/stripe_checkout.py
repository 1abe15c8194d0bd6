"""Buying credits with Stripe Checkout, through the official ``stripe`` library.

- :func:`checkout_params` — the Checkout Session a professional is sent to (pure);
- :func:`start_checkout` — create it with Stripe, return its URL;
- :func:`handle_webhook` — verify a webhook's signature (``stripe.Webhook.construct_event``)
  and credit the ledger for a paid session, once per session whatever the number of
  deliveries of the event (the ledger's ``external_id`` is ``stripe:<session id>``).

Enabled when ``STRIPE_SECRET_KEY`` is set; the webhook also needs
``STRIPE_WEBHOOK_SECRET``. Credits and price per pack are settings.
"""

import logging
from dataclasses import dataclass

import stripe
from django.conf import settings

from relais.pros.models import Professional

from . import services

logger = logging.getLogger(__name__)

MAX_PACKS = 20
PAID_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")


class WebhookRejected(Exception):
    """The webhook is not authentic or not readable (HTTP 400)."""


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    credited: int  # credits added by this delivery of the event (0: nothing to do / again)
    note: str


def enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def checkout_params(professional: Professional, packs: int, *, success_url: str,
                    cancel_url: str) -> dict:
    """The Checkout Session parameters for ``packs`` packs of credits."""
    if isinstance(packs, bool) or not isinstance(packs, int) or not 1 <= packs <= MAX_PACKS:
        raise ValueError(f"packs must be between 1 and {MAX_PACKS}")
    per_pack = settings.RELAIS_CREDIT_PACK_CREDITS
    credits = per_pack * packs
    return {
        "mode": "payment",
        "line_items": [{
            "quantity": packs,
            "price_data": {
                "currency": "eur",
                "unit_amount": settings.RELAIS_CREDIT_PACK_PRICE_CENTS,
                "product_data": {"name": f"Relais : {per_pack} crédits de déblocage"},
            },
        }],
        "client_reference_id": str(professional.pk),
        "customer_email": professional.user.email or None,
        "metadata": {"professional_id": str(professional.pk), "credits": str(credits)},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "locale": "fr",
    }


def start_checkout(professional: Professional, packs: int, *, success_url: str,
                   cancel_url: str) -> str:
    """Create the Checkout Session with Stripe; the URL to send the professional to."""
    params = checkout_params(professional, packs, success_url=success_url,
                             cancel_url=cancel_url)
    if not params["customer_email"]:
        del params["customer_email"]
    client = stripe.StripeClient(settings.STRIPE_SECRET_KEY)
    session = client.v1.checkout.sessions.create(params=params)
    return session.url


def handle_webhook(payload: bytes, signature: str | None) -> WebhookResult:
    """Verify one webhook delivery and credit the ledger for a paid Checkout Session."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise WebhookRejected("STRIPE_WEBHOOK_SECRET is not set")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except ValueError as exc:
        raise WebhookRejected(f"unreadable payload: {exc}") from exc
    except stripe.SignatureVerificationError as exc:
        raise WebhookRejected(f"bad signature: {exc}") from exc
    if event.type not in PAID_EVENTS:
        return WebhookResult(event.id, 0, f"ignored {event.type}")
    session = event.data.object.to_dict()
    if session.get("payment_status") != "paid":
        return WebhookResult(event.id, 0, f"session {session.get('id')} not paid yet")
    metadata = session.get("metadata") or {}
    try:
        professional_id = int(metadata["professional_id"])
        credits = int(metadata["credits"])
    except (KeyError, TypeError, ValueError):
        logger.error("Stripe session %s without Relais metadata", session.get("id"))
        return WebhookResult(event.id, 0, "not a Relais credits session")
    professional = Professional.objects.filter(pk=professional_id).first()
    if professional is None or credits <= 0:
        logger.error("Stripe session %s: unknown professional %s or no credits",
                     session.get("id"), professional_id)
        return WebhookResult(event.id, 0, "unknown professional")
    external_id = f"stripe:{session['id']}"
    amount_eur = (session.get("amount_total") or 0) / 100
    _entry, created = services.purchase(professional, credits, external_id=external_id,
                                        note=f"Achat Stripe ({amount_eur:.2f} €)")
    if created:
        logger.info("Stripe session %s: %d credits for professional %s", session["id"],
                    credits, professional.pk)
    return WebhookResult(event.id, credits if created else 0,
                         "credited" if created else "already credited")
