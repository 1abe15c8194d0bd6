"""The Twilio provider places a call-back's first leg through its REST API (the official
client against a local server answering as api.twilio.com does)."""

import json
import socket
from urllib.parse import parse_qs

import pytest
from twilio.rest import Client

from relais.callbacks import services
from relais.callbacks.models import Callback
from relais.calls.providers import twilio
from relais.credits import services as credits
from tests.helpers import QuietHandler, serve_http

pytestmark = pytest.mark.django_db

SID = "AC" + "8" * 32
TOKEN = "the-auth-token"
NEW_CALL = "CA" + "5" * 32


class TwilioCalls(QuietHandler):
    """POST /2010-04-01/Accounts/{sid}/Calls.json."""

    created: list = []
    status = 201

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        form = parse_qs(self.rfile.read(length).decode())
        TwilioCalls.created.append((self.path, self.basic_auth(), form))
        body = (json.dumps({"sid": NEW_CALL, "status": "queued", "account_sid": SID})
                if TwilioCalls.status == 201 else
                json.dumps({"code": 21215, "message": "Geographic permission",
                            "status": TwilioCalls.status})).encode()
        self.send_response(TwilioCalls.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def twilio_api(monkeypatch, settings):
    settings.RELAIS_DEMO = False  # outbound calls go to Twilio
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = SID, TOKEN
    settings.RELAIS_PUBLIC_URL = "https://relais.example.fr"
    TwilioCalls.created, TwilioCalls.status = [], 201
    server = serve_http(TwilioCalls)

    def client():
        c = Client(SID, TOKEN)
        c.api.base_url = f"http://127.0.0.1:{server.server_port}"
        return c

    monkeypatch.setattr(twilio, "client", client)
    yield
    server.shutdown()


def test_the_first_leg_is_created_with_the_documented_parameters(routed, operator, twilio_api):
    _vm, _own, shared = routed
    d = shared[0]
    credits.grant(d.listing.professional, 5, by=operator)
    cb = services.start(d, d.listing.professional.user)
    ((path, auth, form),) = TwilioCalls.created
    assert path == f"/2010-04-01/Accounts/{SID}/Calls.json"
    assert auth == f"{SID}:{TOKEN}"
    base = f"https://relais.example.fr/telephony/twilio/callback/{cb.pk}"
    assert form["To"] == [d.listing.forward_number]
    assert form["From"] == [d.listing.tracking_number.e164]
    assert form["Url"] == [f"{base}/pro"] and form["Method"] == ["POST"]
    assert form["StatusCallback"] == [f"{base}/status"]
    assert cb.pro_call_sid == NEW_CALL and cb.status == "calling_pro"


def test_a_refused_call_is_a_clear_error_and_costs_nothing(routed, operator, twilio_api):
    _vm, _own, shared = routed
    d = shared[0]
    credits.grant(d.listing.professional, 5, by=operator)
    TwilioCalls.status = 400
    with pytest.raises(services.CallbackRefused) as refused:
        services.start(d, d.listing.professional.user)
    assert refused.value.code == "provider"
    cb = Callback.objects.get()
    assert cb.status == "failed" and "Geographic permission" in cb.error
    assert credits.balance(d.listing.professional) == 5


def test_an_unreachable_provider_is_a_clear_error_and_costs_nothing(routed, operator,
                                                                   monkeypatch, settings):
    """A network error (nothing listens on the API's port) fails the call-back at once."""
    _vm, _own, shared = routed
    d = shared[0]
    credits.grant(d.listing.professional, 5, by=operator)
    settings.RELAIS_DEMO = False  # outbound calls go to Twilio
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = SID, TOKEN
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def client():
        c = Client(SID, TOKEN)
        c.api.base_url = f"http://127.0.0.1:{port}"
        return c

    monkeypatch.setattr(twilio, "client", client)
    with pytest.raises(services.CallbackRefused) as refused:
        services.start(d, d.listing.professional.user)
    assert refused.value.code == "provider"
    cb = Callback.objects.get()
    assert cb.status == "failed" and cb.ended_at is not None
    assert credits.balance(d.listing.professional) == 5
