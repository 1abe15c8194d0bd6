"""The telephony providers' interface: each provider implements all of it, and the active
ones are chosen by the configuration (Twilio always, the local provider in demo mode)."""

import inspect

import pytest
from django.test import RequestFactory
from twilio.request_validator import RequestValidator

from relais.calls import providers
from relais.calls.providers import Provider, local, twilio

SID = "RE" + "a" * 32
TWILIO_URL = f"https://api.twilio.com/2010-04-01/Accounts/AC{'1' * 32}/Recordings/{SID}"
REAL_TOKEN = "the-token-from-the-provider-console"


def interface(cls) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, callable)
            if not name.startswith("_")} | {"name"}


def test_every_provider_implements_the_whole_interface():
    assert list(providers.PROVIDERS) == ["twilio", "local"]
    abstract = Provider.__abstractmethods__
    assert abstract == {"enabled", "configuration_errors", "validate_webhook",
                        "recording_url_allowed", "download_request", "holds_recording",
                        "delete_recording"}
    for name, provider in providers.PROVIDERS.items():
        assert isinstance(provider, Provider) and provider.name == name
        assert not type(provider).__abstractmethods__  # instantiable: nothing left out
        assert interface(Provider) <= interface(type(provider))
        for method in abstract:  # same signatures as the interface
            assert (inspect.signature(getattr(Provider, method))
                    == inspect.signature(getattr(type(provider), method))), (name, method)
    assert twilio.PROVIDER is providers.PROVIDERS["twilio"]
    assert local.PROVIDER is providers.PROVIDERS["local"]


def test_active_picks_per_configuration(settings):
    settings.RELAIS_DEMO = True
    assert providers.active() == (twilio.PROVIDER, local.PROVIDER)
    settings.RELAIS_DEMO = False
    assert providers.active() == (twilio.PROVIDER,)


def test_recording_urls_go_to_the_provider_allowing_them(settings):
    settings.RELAIS_DEMO, settings.RELAIS_PUBLIC_URL = True, "http://127.0.0.1:8000"
    at_local = f"http://127.0.0.1:8000/telephony/local/recordings/{SID}"
    assert providers.for_recording_url(TWILIO_URL) is twilio.PROVIDER
    assert providers.for_recording_url(at_local) is local.PROVIDER
    assert providers.for_recording_url(f"http://127.0.0.1:8001/x/{SID}") is None
    credentials = (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    assert twilio.PROVIDER.download_request(TWILIO_URL) == (TWILIO_URL + ".wav", credentials)
    assert local.PROVIDER.download_request(at_local) == (at_local, credentials)
    settings.RELAIS_DEMO = False  # no local provider: its URLs are nobody's
    assert providers.for_recording_url(TWILIO_URL) is twilio.PROVIDER
    assert providers.for_recording_url(at_local) is None
    assert not providers.recording_url_allowed(at_local)
    # Deleting a copy asks the provider holding it, whatever the mode.
    assert providers.holding_recording(TWILIO_URL) is twilio.PROVIDER
    assert providers.holding_recording(at_local) is local.PROVIDER
    assert providers.holding_recording(f"https://example.org/{SID}") is None


def test_configuration_errors_of_the_active_providers(settings):
    settings.RELAIS_DEMO = True
    assert providers.configuration_errors() == []
    settings.RELAIS_DEMO = False  # still the placeholders written in the source
    assert len(providers.configuration_errors()) == 2
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "f" * 32, REAL_TOKEN
    assert providers.configuration_errors() == []


@pytest.mark.parametrize("demo,token,accepted_by", [
    (True, local.LOCAL_AUTH_TOKEN, {"local"}),
    (False, local.LOCAL_AUTH_TOKEN, set()),
    (True, REAL_TOKEN, {"twilio", "local"}),
    (False, REAL_TOKEN, {"twilio"}),
    (True, "", set()),
])
def test_which_provider_accepts_a_signed_webhook(settings, demo, token, accepted_by):
    settings.RELAIS_DEMO, settings.TWILIO_AUTH_TOKEN = demo, token
    settings.RELAIS_PUBLIC_URL = "https://relais.example.org"
    params = {"CallSid": "CA" + "1" * 32}
    signature = RequestValidator(token).compute_signature(
        "https://relais.example.org/telephony/twilio/voice", params)
    request = RequestFactory().post("/telephony/twilio/voice", params,
                                    headers={"X-Twilio-Signature": signature})
    assert {p.name for p in providers.PROVIDERS.values()
            if p.validate_webhook(request)} == accepted_by
    assert providers.webhook_is_valid(request) == bool(accepted_by)


def test_the_local_provider_deletes_through_the_hook_the_demo_app_fills(monkeypatch):
    deleted = []
    monkeypatch.setattr(local, "_deleter", deleted.append)
    local.PROVIDER.delete_recording(SID)
    assert deleted == [SID]
    monkeypatch.setattr(local, "_deleter", None)  # no demo app: nothing to delete with
    local.PROVIDER.delete_recording(SID)
    assert deleted == [SID]
