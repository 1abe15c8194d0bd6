"""Issue 5's end to end: a generated directory, a call through the local phone, the worker,
and the emails a real SMTP server receives.

Everything is real: the SIRENE generator and importer, the webhooks signed as Twilio
signs them (``relais simulate_call`` in its own process), the recording downloaded over
HTTP from the local provider, Whisper, the classifier, the routing index, the SMTP
client (``relais worker --batch`` in its own process) and an aiosmtpd server.
"""

import json
import re

import pytest
import requests
from django.core.management import call_command

from relais.calls.models import TrackingNumber
from relais.voicemail.models import Voicemail
from tests.helpers import relais, relais_env
from tests.routing.conftest import smtp  # noqa: F401 - a fixture
from tests.routing.factories import listing, offset
from tests.voicemail.clips import speak

PARIS = (48.8566, 2.3522)
TRACKING = "+33199000001"
CALLER = "+33639980042"
CALLER_FORMS = ("+33639980042", "06 39 98 00 42", "0639980042")
REQUEST = "Bonjour, je cherche un plombier pour une fuite d'eau. Merci de me rappeler."
BANKER = ("Bonjour, ici votre conseiller de la banque. Je vous appelle au sujet d'une facture "
          "impayée sur votre compte professionnel. Merci de me rappeler.")


@pytest.fixture
def directory(tmp_path):
    """A generated directory, and claimed professionals placed around Paris."""
    sirene = tmp_path / "StockEtablissement.csv"
    call_command("generate_sirene", rows=3000, seed=5, out=str(sirene),
                 departements="75,92,93,94", no_progress=True, verbosity=0)
    call_command("import_sirene", str(sirene), verbosity=0)
    called = listing(*PARIS, email="appele@example.org", radius=30)
    called.forward_number = "+33261910099"
    called.save(update_fields=["forward_number"])
    TrackingNumber.objects.create(e164=TRACKING, listing=called)
    plumbers = {
        km: listing(*offset(*PARIS, north_km=km), email=f"plombier-{km}km@example.org",
                    radius=80)
        for km in (3, 6, 10, 15, 21, 32, 45, 60, 120)
    }
    # Within 50 km of the caller's plumber, but farther than it travels itself.
    small_radius = listing(*offset(*PARIS, east_km=8), email="petit-rayon@example.org",
                           radius=5)
    electricians = [
        listing(*offset(*PARIS, east_km=km), metiers=("electricien",),
                email=f"electricien-{km}km@example.org", radius=80)
        for km in (1, 2)
    ]
    return called, plumbers, small_radius, electricians


def call(tmp_path, live_server, text: str, consent: str) -> str:
    clip = speak(text, tmp_path / f"{consent}-{len(text)}.wav", speed=110)
    env = relais_env(RELAIS_PUBLIC_URL=live_server.url)
    result = relais("simulate_call", "--to", TRACKING, "--from", CALLER, "--audio", str(clip),
                    "--no-answer", "--consent", consent, "--json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    reference = json.loads(result.stdout)["voicemail_reference"]
    assert reference, result.stdout
    return reference


def work(live_server, smtp_server):
    env = relais_env(RELAIS_PUBLIC_URL=live_server.url,
                     EMAIL_URL=f"smtp://127.0.0.1:{smtp_server.port}")
    result = relais("worker", "--batch", "--no-startup-delay", env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def recipients(mailbox) -> list[str]:
    return sorted(address for _, rcpts in mailbox.envelopes for address in rcpts)


@pytest.mark.whisper
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_plumbing_request_reaches_the_called_plumber_and_a_few_nearby(
    directory, live_server, smtp, tmp_path  # noqa: F811
):
    called, plumbers, _, _ = directory
    reference = call(tmp_path, live_server, REQUEST, "share")
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
    directory, live_server, smtp, tmp_path  # noqa: F811
):
    private = call(tmp_path, live_server, REQUEST, "private")
    banker = call(tmp_path, live_server, BANKER, "share")
    work(live_server, smtp)

    assert recipients(smtp.mailbox) == ["appele@example.org", "appele@example.org"]
    private_vm = Voicemail.objects.get(reference=private)
    banker_vm = Voicemail.objects.get(reference=banker)
    assert (private_vm.status, private_vm.consent) == ("done", "private")
    assert (banker_vm.status, banker_vm.consent, banker_vm.shareable) == ("done", "share", False)
    assert banker_vm.intent == "billing_or_admin"
    for vm in (private_vm, banker_vm):
        assert [d.kind for d in vm.deliveries.all()] == ["own"]
