"""Buying credits with Stripe Checkout: signed webhooks credit the ledger once.

Webhooks are signed with the ``stripe`` library's own scheme
(``WebhookSignature.generate_signature_header``, the one Stripe uses) and verified by
``stripe.Webhook.construct_event``."""

import json
import time

import pytest
import stripe

from relais.credits import services, stripe_checkout
from relais.credits.models import CreditEntry
from tests import factories as f

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_relais_secret"
URL = "/credits/stripe/webhook/"


@pytest.fixture(autouse=True)
def stripe_settings(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_relais"
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.RELAIS_CREDIT_PACK_CREDITS = 10
    settings.RELAIS_CREDIT_PACK_PRICE_CENTS = 1200


def event(pro, *, event_id="evt_1", session_id="cs_test_1", kind="checkout.session.completed",
          paid="paid", credits="20") -> str:
    return json.dumps({
        "id": event_id, "object": "event", "type": kind, "api_version": "2025-01-27",
        "data": {"object": {
            "id": session_id, "object": "checkout.session", "payment_status": paid,
            "amount_total": 2400, "currency": "eur", "client_reference_id": str(pro.pk),
            "metadata": {"professional_id": str(pro.pk), "credits": credits},
        }},
    })


def post(client, payload: str, *, secret=SECRET, timestamp=None):
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)
    return client.post(URL, payload, content_type="application/json",
                       headers={"Stripe-Signature": header})


def test_a_paid_session_credits_the_ledger_once(client):
    pro = f.professional()
    payload = event(pro)
    response = post(client, payload)
    assert response.status_code == 200 and b"credited" in response.content
    assert services.balance(pro) == 20
    entry = CreditEntry.objects.get()
    assert (entry.kind, entry.external_id, entry.note) == (
        "purchase", "stripe:cs_test_1", "Achat Stripe (24.00 €)")
    # Stripe delivers again (same event), or sends the async success for the same session.
    assert post(client, payload).status_code == 200
    again = post(client, event(pro, event_id="evt_2",
                               kind="checkout.session.async_payment_succeeded"))
    assert again.status_code == 200 and b"already credited" in again.content
    assert services.balance(pro) == 20
    # Another session is another purchase.
    post(client, event(pro, event_id="evt_3", session_id="cs_test_2", credits="10"))
    assert services.balance(pro) == 30


def test_forged_or_stale_webhooks_are_rejected_and_credit_nothing(client):
    pro = f.professional()
    payload = event(pro)
    assert post(client, payload, secret="whsec_someone_else").status_code == 400
    assert post(client, payload, timestamp=int(time.time()) - 3600).status_code == 400
    assert client.post(URL, payload, content_type="application/json").status_code == 400
    header = stripe.WebhookSignature.generate_signature_header(payload, SECRET)
    tampered = payload.replace('"20"', '"2000"')
    assert client.post(URL, tampered, content_type="application/json",
                       headers={"Stripe-Signature": header}).status_code == 400
    assert post(client, "not json").status_code == 400
    assert not CreditEntry.objects.exists()


def test_unpaid_other_or_foreign_sessions_credit_nothing(client):
    pro = f.professional()
    assert b"not paid" in post(client, event(pro, paid="unpaid")).content
    assert b"ignored" in post(client, event(pro, kind="charge.refunded")).content
    foreign = json.loads(event(pro, event_id="evt_9", session_id="cs_other"))
    foreign["data"]["object"]["metadata"] = {}
    assert b"not a Relais" in post(client, json.dumps(foreign)).content
    assert post(client, event(pro, credits="-5", event_id="e", session_id="s")).status_code == 200
    assert not CreditEntry.objects.exists()


def test_without_a_webhook_secret_nothing_is_accepted(client, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    pro = f.professional()
    assert post(client, event(pro)).status_code == 400
    assert not CreditEntry.objects.exists()


def test_checkout_params_describe_the_packs():
    pro = f.professional("achat@example.fr")
    params = stripe_checkout.checkout_params(pro, 3, success_url="https://x/ok",
                                             cancel_url="https://x/no")
    assert params["mode"] == "payment"
    assert params["line_items"] == [{"quantity": 3, "price_data": {
        "currency": "eur", "unit_amount": 1200,
        "product_data": {"name": "Relais : 10 crédits de déblocage"}}}]
    assert params["metadata"] == {"professional_id": str(pro.pk), "credits": "30"}
    assert params["customer_email"] == "achat@example.fr"
    for bad in (0, 21, "2", True):
        with pytest.raises(ValueError):
            stripe_checkout.checkout_params(pro, bad, success_url="a", cancel_url="b")


def test_the_credits_page_offers_packs_only_when_stripe_is_set(client, settings):
    pro = f.professional()
    client.force_login(pro.user)
    page = client.get("/pro/credits/").content.decode()
    assert "Payer avec Stripe" in page and "10 crédits à 12,00 €" in page
    settings.STRIPE_SECRET_KEY = ""
    page = client.get("/pro/credits/").content.decode()
    assert "Payer avec Stripe" not in page and "contactez l'opérateur" in page
    assert client.post("/credits/acheter/", {"packs": "1"}).status_code == 404
