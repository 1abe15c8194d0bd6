"""The professional's call log (/pro/appels/), with calls placed through the webhooks."""

import pytest

from relais.calls.models import TrackingNumber
from relais.voicemail.models import Voicemail
from tests.factories import PHONE_CALLER as CALLER
from tests.factories import TRACKING, make_listing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("calls_settings")]


def test_professionals_see_only_their_own_calls(client, phone, tracking, wav):
    other = make_listing(siret="98765432100019", name="Serrurerie Dupont",
                         email="dupont@example.org")
    TrackingNumber.objects.create(e164="+33199000002", listing=other)
    phone.call(TRACKING, CALLER, wav, consent="share")
    phone.call(TRACKING, "anonymous", answer="answer")
    phone.call("+33199000002", "+33639980077", answer="answer")

    assert client.get("/pro/appels/").status_code == 302  # login required
    client.force_login(tracking.listing.professional.user)
    page = client.get("/pro/appels/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count("<tr>") == 3  # header + two calls
    assert "06 39 98 00 01" in html and CALLER not in html  # French-formatted
    assert "numéro masqué" in html
    assert Voicemail.objects.get().reference in html
    assert "message laissé" in html and "répondu" in html
    assert "Serrurerie Dupont" not in html and "06 39 98 00 77" not in html

    client.force_login(other.professional.user)
    html = client.get("/pro/appels/").content.decode()
    assert "06 39 98 00 77" in html and "06 39 98 00 01" not in html
