"""SMS backends: the development outbox, and Twilio through its official library."""

import json
from urllib.parse import parse_qs

import pytest
from twilio.rest import Client

from relais.core import sms
from relais.core.models import OutboxMessage
from tests.helpers import QuietHandler, serve_http

pytestmark = pytest.mark.django_db

SID = "AC" + "5" * 32


class TwilioAPI(QuietHandler):
    """Answers the Messages resource the way api.twilio.com does (2010-04-01)."""

    received: list = []
    status = 201

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        TwilioAPI.received.append({"path": self.path, "form": parse_qs(body),
                                   "auth": self.basic_auth()})
        if TwilioAPI.status != 201:
            payload = {"code": 21211, "message": "The 'To' number is not a valid phone number.",
                       "status": 400}
        else:
            form = parse_qs(body)
            payload = {"sid": "SM" + "a" * 32, "account_sid": SID, "to": form["To"][0],
                       "from": form["From"][0], "body": form["Body"][0], "status": "queued"}
        data = json.dumps(payload).encode()
        self.send_response(TwilioAPI.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def twilio_api():
    TwilioAPI.received, TwilioAPI.status = [], 201
    server = serve_http(TwilioAPI)
    client = Client(SID, "the-auth-token")
    client.api.base_url = f"http://127.0.0.1:{server.server_port}"
    yield client
    server.shutdown()


def test_the_outbox_keeps_the_sms_and_the_demo_page_shows_it(client):
    message_id = sms.send_sms("+33612345678", "Relais : votre code est 123456.")
    stored = OutboxMessage.objects.get()
    assert message_id == f"outbox-{stored.pk}"
    assert (stored.kind, stored.to, stored.body) == ("sms", "+33612345678",
                                                     "Relais : votre code est 123456.")
    page = client.get("/demo/boite-d-envoi/?type=sms").content.decode()
    assert "+33612345678" in page and "votre code est 123456" in page


def test_twilio_sends_through_the_messages_api(settings, twilio_api):
    settings.RELAIS_SMS_BACKEND = "twilio"
    settings.RELAIS_SMS_FROM = "+33700000000"
    assert isinstance(sms.get_backend(), sms.TwilioBackend)
    sid = sms.send_sms("+33612345678", "Relais : votre code est 654321.",
                       backend=sms.TwilioBackend(twilio_api))
    assert sid == "SM" + "a" * 32
    (request,) = TwilioAPI.received
    assert request["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request["auth"] == f"{SID}:the-auth-token"
    assert request["form"] == {"To": ["+33612345678"], "From": ["+33700000000"],
                               "Body": ["Relais : votre code est 654321."]}
    assert not OutboxMessage.objects.exists()


def test_a_twilio_refusal_is_an_sms_error(settings, twilio_api):
    TwilioAPI.status = 400
    with pytest.raises(sms.SMSError, match="not a valid phone number"):
        sms.send_sms("+33612345678", "x", backend=sms.TwilioBackend(twilio_api))


def test_an_unreachable_provider_is_an_sms_error():
    client = Client(SID, "the-auth-token")
    client.api.base_url = "http://127.0.0.1:9"  # nothing listens on the discard port
    with pytest.raises(sms.SMSError):
        sms.send_sms("+33612345678", "x", backend=sms.TwilioBackend(client))
