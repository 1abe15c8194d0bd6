"""The demo phone without JavaScript."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from relais.voicemail.models import Voicemail
from tests.factories import PHONE_CALLER as CALLER
from tests.factories import TRACKING

pytestmark = pytest.mark.django_db


def test_demo_phone_works_without_javascript(client, tracking, wav):
    page = client.get("/demo/telephone/")
    assert page.status_code == 200
    assert "Plomberie Martin — 01 99 00 00 01" in page.content.decode()
    r = client.post("/demo/telephone/", {
        "listing_number": TRACKING, "to_number": "", "caller": "06 39 98 00 09",
        "outcome": "no-answer", "consent": "private",
        "audio": SimpleUploadedFile("m.wav", wav, content_type="audio/wav"),
    })
    vm = Voicemail.objects.get()
    assert vm.consent == "private" and vm.caller_e164 == "+33639980009"
    assert f'<strong class="reference">{vm.reference}</strong>' in r.content.decode()
    # A message is required unless the professional answers.
    r = client.post("/demo/telephone/", {"to_number": "01 99 00 00 01", "caller": CALLER,
                                         "outcome": "busy", "consent": "none"})
    assert "Enregistrez ou choisissez un message." in r.content.decode()


def test_demo_phone_only_on_demo_sites(client, settings):
    settings.RELAIS_DEMO = False
    assert client.get("/demo/telephone/").status_code == 404


def test_without_a_microphone_the_sample_message_is_left(client, tracking):
    """The page explains itself; "message d'exemple" leaves the shipped spoken request
    (kept by the local provider like any recording)."""
    from relais.demo import local_provider
    from relais.demo.views import SAMPLE_MESSAGE

    page = client.get("/demo/telephone/").content.decode()
    assert "Pas de micro ?" in page and "relais-demo" in page
    assert 'href="/static/demo/message-exemple.wav"' in page
    assert client.get("/static/demo/message-exemple.wav").status_code == 200
    r = client.post("/demo/telephone/", {
        "listing_number": TRACKING, "to_number": "", "caller": CALLER,
        "outcome": "no-answer", "consent": "share", "sample": "on",
    })
    vm = Voicemail.objects.get()
    assert f'<strong class="reference">{vm.reference}</strong>' in r.content.decode()
    sid = vm.recording_url.rstrip("/").rsplit("/", 1)[-1].split(".")[0]
    assert local_provider.find_recording(sid).read_bytes() == SAMPLE_MESSAGE.read_bytes()
