"""The professional's space in a real browser (headless Chromium): log in, inbox, own
message (transcript, player, number), handled, shared request, unlock, "pas pour moi"."""

import pytest
from playwright.sync_api import expect

from relais.core import audit
from relais.core.models import AuditEvent
from relais.credits import services as credits
from relais.credits.models import Unlock
from relais.routing import services as routing
from relais.routing.models import Delivery, Feedback
from tests import factories as f
from tests.factories import CALLER_FR, NANTES, offset
from tests.helpers import audio_duration

EMAIL, PASSWORD = "plombier.a@example.fr", "motdepasse-solide-42"
OTHER_CALLER, OTHER_CALLER_FR = "+33698765432", "06 98 76 54 32"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reveal_numbers")
def test_a_professional_works_through_its_space_in_chromium(live_server, settings, operator,
                                                           browser):
    settings.RELAIS_PUBLIC_URL = live_server.url
    settings.RELAIS_UNLOCK_COST = 1
    settings.RELAIS_UNLOCK_CAP = 3
    # The login form takes the e-mail address as username; the password is PASSWORD.
    pro = f.professional(EMAIL, username=EMAIL)
    mine = f.listing(*NANTES, ["plombier"], pro=pro, name="Plomberie Atlantique")
    other = f.listing(*offset(*NANTES, 8), ["plombier"], name="Plomberie Voisine")
    own_vm = f.voicemail(mine, consent="private")
    shared_vm = f.voicemail(other, caller=OTHER_CALLER)
    routing.route_voicemail(own_vm)
    routing.route_voicemail(shared_vm)
    own = Delivery.objects.get(voicemail=own_vm, listing=mine)
    shared = Delivery.objects.get(voicemail=shared_vm, listing=mine)
    assert shared.kind == "shared"
    credits.grant(pro, 2, by=operator, note="bienvenue")

    errors = []
    page = browser.new_page(locale="fr-FR")
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/pro/connexion/?next=/pro/")
    page.locator('input[name="username"]').fill(EMAIL)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/pro/")

    # The inbox: both deliveries, new, no personal data.
    rows = page.locator("tr.delivery-row")
    expect(rows).to_have_count(2)
    inbox_text = page.locator("main").inner_text()
    assert "Solde : 2 crédits" in inbox_text
    assert CALLER_FR not in inbox_text and "fuite" not in inbox_text

    # Own message: full transcript, number, the recording plays.
    page.locator(f'tr[data-delivery="{own.pk}"] a').first.click()
    page.wait_for_url(f"**/pro/messages/{own.pk}/")
    assert "Nadia Bensaïd" in page.locator("blockquote.transcript").inner_text()
    assert page.locator(".caller").inner_text().endswith(CALLER_FR)
    src = page.locator("audio").get_attribute("src")
    media = page.request.get(live_server.url + src)
    assert media.status == 200 and media.headers["content-type"].startswith("audio/")
    assert media.body()[:4] == b"RIFF"
    assert audio_duration(page) == pytest.approx(1.0, abs=0.05)
    page.get_by_role("button", name="Marquer comme traité").click()
    expect(page.locator(".messages")).to_contain_text("traité")
    expect(page.locator(".badge.state")).to_have_text("traité")

    # Only the shared request is still new.
    page.goto(f"{live_server.url}/pro/?filtre=nouveaux")
    expect(page.locator("tr.delivery-row")).to_have_count(1)
    page.locator(f'tr[data-delivery="{shared.pk}"] a').first.click()
    page.wait_for_url(f"**/pro/messages/{shared.pk}/")
    text = page.locator("main").inner_text()
    assert "[numéro]" in text and "Bensaïd" not in text and OTHER_CALLER_FR not in text
    assert page.locator(".caller").count() == 0
    assert "/extract" in page.locator("audio").get_attribute("src")
    assert audio_duration(page) == pytest.approx(0.5, abs=0.05)
    unlock_box = page.locator("section.unlock")
    expect(unlock_box).to_contain_text("coûte 1 crédit")
    expect(unlock_box).to_contain_text("Votre solde : 2")
    expect(unlock_box).to_contain_text("Encore 3 déblocages possibles sur 3")

    # Unlock: the number appears, the balance goes down by the cost.
    page.get_by_role("button", name="Débloquer le numéro").click()
    expect(page.locator(".messages")).to_contain_text("Numéro débloqué")
    expect(page.locator(".caller")).to_contain_text(OTHER_CALLER_FR)
    page.goto(f"{live_server.url}/pro/credits/")
    expect(page.locator(".balance")).to_contain_text("Solde : 1 crédit")
    expect(page.locator("table.ledger")).to_contain_text("Déblocage")

    # "Pas pour moi" on the shared request.
    page.goto(f"{live_server.url}/pro/messages/{shared.pk}/")
    page.locator("details.feedback summary").click()
    page.get_by_label("Ce n'est pas mon métier").check()
    page.get_by_label("Le bon métier serait (facultatif)").select_option(
        label="Chauffagiste")
    page.get_by_label("Commentaire (facultatif)").fill("C'est une chaudière.")
    page.locator("details.feedback").get_by_role("button", name="Envoyer").click()
    expect(page.locator(".feedback-given")).to_contain_text("pas mon métier")
    page.close()

    assert not [e for e in errors if "Content Security Policy" in e], errors
    own.refresh_from_db()
    assert own.handled_at is not None
    assert Unlock.objects.get().shown_at is not None
    assert credits.balance(pro) == 1
    fb = Feedback.objects.get()
    assert (fb.delivery_id, fb.kind, fb.suggested_metier_id) == (
        shared.pk, "wrong_metier", "chauffagiste")
    reads = set(AuditEvent.objects.filter(actor_user_id=pro.user_id)
                .values_list("delivery_id", "action"))
    assert {(own.pk, audit.READ_TRANSCRIPT), (own.pk, audit.READ_CALLER_NUMBER),
            (own.pk, audit.READ_AUDIO), (shared.pk, audit.READ_REDACTED),
            (shared.pk, audit.READ_EXTRACT), (shared.pk, audit.READ_CALLER_NUMBER)} <= reads
