"""Issue 5's end to end: a generated directory, a call through the local phone, the worker,
and the emails a real SMTP server receives.

Everything is real: the SIRENE generator and importer, the webhooks signed as Twilio
signs them (``relais simulate_call`` in its own process), the recording downloaded over
HTTP from the local provider, Whisper, the classifier, the routing index, the SMTP
client (``relais worker --batch`` in its own process) and an aiosmtpd server.
"""

import re

import pytest
import requests

from relais.voicemail.models import Voicemail
from tests.factories import REQUEST
from tests.helpers import recipients, relais, relais_env, simulate_call

CALLER_FORMS = ("+33639980042", "06 39 98 00 42", "0639980042")
BANKER = ("Bonjour, ici votre conseiller de la banque. Je vous appelle au sujet d'une facture "
          "impayée sur votre compte professionnel. Merci de me rappeler.")


def work(live_server, smtp_server):
    env = relais_env(RELAIS_PUBLIC_URL=live_server.url,
                     EMAIL_URL=f"smtp://127.0.0.1:{smtp_server.port}")
    result = relais("worker", "--batch", "--no-startup-delay", env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.whisper
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_plumbing_request_reaches_the_called_plumber_and_a_few_nearby(
    paris_directory, live_server, smtp, tmp_path
):
    called, plumbers, _, _ = paris_directory
    reference = simulate_call(tmp_path, live_server, REQUEST, "share")
    work(live_server, smtp)

    vm = Voicemail.objects.get(reference=reference)
    assert (vm.status, vm.consent, vm.intent, vm.metier_id) == (
        "done", "share", "quote_request", "plombier")
    nearest = [plumbers[km].email for km in (3, 6, 10, 15, 21)]
    assert recipients(smtp.mailbox) == sorted([called.email, *nearest])
    # Exactly once each; nobody of another trade, nobody beyond 50 km, nobody whose own
    # radius the caller is outside of.

    for message in smtp.mailbox.messages:
        text, html = smtp.mailbox.text(message), smtp.mailbox.html(message)
        links = re.findall(r"https?://\S+/r/\S+?/", text)
        assert len(links) == 1  # one personal link, to this one message
        page = requests.get(links[0], timeout=30)
        assert page.status_code == 200
        if message["To"] == called.email:
            assert "06 39 98 00 42" in page.text  # the called plumber has its caller
        else:
            for form in CALLER_FORMS:  # the others never see the caller's number
                assert form not in text and form not in html and form not in page.text
            assert vm.redacted_text[:20] in page.text


@pytest.mark.whisper
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_private_requests_and_a_bankers_call_reach_only_the_called_professional(
    paris_directory, live_server, smtp, tmp_path
):
    private = simulate_call(tmp_path, live_server, REQUEST, "private")
    banker = simulate_call(tmp_path, live_server, BANKER, "share")
    work(live_server, smtp)

    assert recipients(smtp.mailbox) == ["appele@example.org", "appele@example.org"]
    private_vm = Voicemail.objects.get(reference=private)
    banker_vm = Voicemail.objects.get(reference=banker)
    assert (private_vm.status, private_vm.consent) == ("done", "private")
    assert (banker_vm.status, banker_vm.consent, banker_vm.shareable) == ("done", "share", False)
    assert banker_vm.intent == "billing_or_admin"
    for vm in (private_vm, banker_vm):
        assert [d.kind for d in vm.deliveries.all()] == ["own"]
