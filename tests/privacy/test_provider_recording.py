"""The provider's copy of a recording goes with Relais' own copy (erasure, retention)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from twilio.rest import Client

from relais.calls.models import TrackingNumber
from relais.calls.providers import twilio
from relais.demo import local_provider
from relais.demo.phone import InProcess, LocalPhone
from relais.privacy import services
from relais.privacy.models import PendingFileDeletion
from relais.voicemail.models import Voicemail
from tests import factories as f
from tests.factories import make_listing, tone_wav
from tests.helpers import QuietHandler, serve_http

pytestmark = pytest.mark.django_db

SID = "AC" + "8" * 32


def test_erasure_deletes_the_local_providers_recording_of_a_real_call(
        settings, django_capture_on_commit_callbacks):
    settings.RELAIS_PUBLIC_URL = "http://testserver"
    listing = make_listing()
    TrackingNumber.objects.create(e164="+33199000001", listing=listing)
    result = LocalPhone(InProcess()).call("+33199000001", "+33639980001", tone_wav(1.0),
                                          answer="no-answer", consent="share")
    assert result.errors == []
    vm = Voicemail.objects.get()
    at_provider = local_provider.find_recording(vm.recording_sid)
    assert at_provider is not None and at_provider.exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.erase(vm)
    assert local_provider.find_recording(vm.recording_sid) is None
    assert not at_provider.exists()
    assert not PendingFileDeletion.objects.exists()


class TwilioRecordings(QuietHandler):
    """DELETE /2010-04-01/Accounts/{sid}/Recordings/{RE…}.json as api.twilio.com answers."""

    deleted: list = []
    status = 204

    def do_DELETE(self):
        TwilioRecordings.deleted.append((self.path, self.basic_auth()))
        self.send_response(TwilioRecordings.status)
        if TwilioRecordings.status == 204:
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = (b'{"code": 20003, "message": "Authenticate", "status": %d}'
                % TwilioRecordings.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def twilio_api(monkeypatch):
    TwilioRecordings.deleted, TwilioRecordings.status = [], 204
    server = serve_http(TwilioRecordings)

    def client():
        c = Client(SID, "the-auth-token")
        c.api.base_url = f"http://127.0.0.1:{server.server_port}"
        return c

    monkeypatch.setattr(twilio, "client", client)
    yield
    server.shutdown()


def twilio_voicemail(days_old=0):
    vm = f.voicemail(None)
    Voicemail.objects.filter(pk=vm.pk).update(
        recording_sid="RE" + "c" * 32,
        recording_url=f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Recordings/RE{'c' * 32}",
        created_at=timezone.now() - timedelta(days=days_old))
    vm.refresh_from_db()
    return vm


def test_the_audio_retention_deletes_the_twilio_recording(twilio_api, settings):
    vm = twilio_voicemail(days_old=31)
    report = services.purge()
    assert report.audio == 1 and report.files == 3  # audio, extract, Twilio's copy
    vm.refresh_from_db()
    assert (vm.audio.name, vm.extract.name) == ("", "")
    assert TwilioRecordings.deleted == [
        (f"/2010-04-01/Accounts/{SID}/Recordings/RE{'c' * 32}.json", f"{SID}:the-auth-token")]


def test_a_provider_outage_keeps_the_deletion_queued_until_it_works(
        twilio_api, django_capture_on_commit_callbacks):
    vm = twilio_voicemail()
    TwilioRecordings.status = 500
    with django_capture_on_commit_callbacks(execute=True):
        services.erase(vm)
    assert list(PendingFileDeletion.objects.values_list("name", flat=True)) == [
        "twilio-recording:RE" + "c" * 32]
    TwilioRecordings.status = 404  # meanwhile deleted at Twilio: done too
    assert services.delete_pending_files() == 1
    assert not PendingFileDeletion.objects.exists()
    assert len(TwilioRecordings.deleted) == 2
