"""The professional's call-back in a real browser (headless Chromium): the "why this lead"
card, the "Rappeler via Relais" button, the state of the call, the ledger."""

import pytest
from playwright.sync_api import expect

from relais.callbacks.models import Callback
from relais.calls.models import TrackingNumber
from relais.credits import services as credits
from relais.routing import services as routing
from relais.routing.models import Delivery
from tests import factories as f
from tests.factories import CALLER_FR, NANTES, offset

EMAIL, PASSWORD = "plombier.rappel@example.fr", "motdepasse-solide-42"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_professional_calls_a_shared_request_back_in_chromium(live_server, settings,
                                                                 operator, browser):
    settings.RELAIS_UNLOCK_COST = 1
    pro = f.professional(EMAIL, username=EMAIL)
    mine = f.listing(*offset(*NANTES, 8), ["plombier"], pro=pro, name="Plomberie Voisine")
    mine.forward_number = "+33639981234"
    mine.save(update_fields=["forward_number"])
    TrackingNumber.objects.create(e164="+33199001234", listing=mine)
    called = f.listing(*NANTES, ["plombier"], name="Plomberie Appelée")
    vm = f.voicemail(called, confidence=0.93)
    routing.route_voicemail(vm)
    shared = Delivery.objects.get(voicemail=vm, listing=mine)
    credits.grant(pro, 2, by=operator, note="bienvenue")

    page = browser.new_page(locale="fr-FR")
    page.goto(f"{live_server.url}/pro/connexion/?next=/pro/messages/{shared.pk}/")
    page.locator('input[name="username"]').fill(EMAIL)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"**/pro/messages/{shared.pk}/")

    card = page.get_by_test_id("lead-card")
    expect(card).to_contain_text("Pourquoi cette demande")
    expect(card.locator(".why-metier")).to_contain_text("Plombier (confiance 93 %)")
    expect(card).to_contain_text("Distance : 8 km")
    expect(card.locator(".why-recipients")).to_contain_text("0 mis en relation (sur 3 au plus)")
    expect(card.locator(".why-price")).to_contain_text("Prix : 1 crédit")
    expect(card.locator(".why-price")).to_contain_text("votre solde : 2")
    assert page.locator("section.unlock").count() == 0  # numbers are not revealed

    # The demo's local provider rings the professional, then the caller: 45 s, bridged.
    page.get_by_role("button", name="Rappeler via Relais").click()
    expect(page.locator(".messages")).to_contain_text("Rappel lancé")
    state = page.locator("li.callback").first
    expect(state).to_have_attribute("data-status", "completed")
    expect(state).to_contain_text("mis en relation (45 s) · 1 crédit débité")
    expect(card.locator(".why-recipients")).to_contain_text("1 mis en relation")
    expect(card.locator(".why-price")).to_contain_text("Déjà payée")
    assert CALLER_FR not in page.locator("main").inner_text()

    page.goto(f"{live_server.url}/pro/credits/")
    expect(page.locator(".balance")).to_contain_text("Solde : 1 crédit")
    row = page.locator("tr.entry-callback")
    expect(row).to_contain_text("Mise en relation")
    expect(row).to_contain_text("45 s de conversation")
    page.close()
    assert Callback.objects.get().charged_credits == 1
