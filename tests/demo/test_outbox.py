import pytest
from django.core import mail

from relais.core.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_the_embedded_default_keeps_emails_in_the_outbox_shown_on_a_demo_page(client, settings):
    settings.EMAIL_BACKEND = "relais.core.outbox.OutboxEmailBackend"
    message = mail.EmailMultiAlternatives(
        "Nouveau message", "Ouvrez https://relais.example/r/abc/", to=["pro@example.org"]
    )
    message.attach_alternative("<p>Ouvrez le lien</p>", "text/html")
    assert message.send() == 1
    stored = OutboxMessage.objects.get()
    assert (stored.kind, stored.to, stored.subject) == ("email", "pro@example.org",
                                                        "Nouveau message")
    assert stored.html == "<p>Ouvrez le lien</p>"
    page = client.get("/demo/boite-d-envoi/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "pro@example.org" in html and 'href="https://relais.example/r/abc/"' in html
    assert client.get("/demo/boite-d-envoi/?type=sms").content.decode().count(
        "pro@example.org") == 0


def test_the_outbox_page_does_not_exist_outside_demo_mode(client, settings):
    settings.RELAIS_DEMO = False
    assert client.get("/demo/boite-d-envoi/").status_code == 404
