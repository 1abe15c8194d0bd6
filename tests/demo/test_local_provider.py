"""The local provider's recording host: uploads and downloads with HTTP Basic auth."""

import base64

import pytest

SID = "RE" + "a" * 32


def basic(user, token):
    return "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()


@pytest.mark.django_db
def test_local_provider_serves_recordings_with_basic_auth_only(client, settings, wav):
    path = f"/telephony/local/recordings/{SID}"
    good = basic(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    r = client.put(path, wav, content_type="audio/wav", headers={"Authorization": good})
    assert r.status_code == 201
    assert r.json() == {"url": f"{settings.RELAIS_PUBLIC_URL}{path}"}
    assert client.get(path).status_code == 401
    assert client.get(path, headers={
        "Authorization": basic(settings.TWILIO_ACCOUNT_SID, "nope")}).status_code == 401
    assert client.put(path, b"x", content_type="audio/wav").status_code == 401
    for suffix in ("", ".wav"):
        r = client.get(path + suffix, headers={"Authorization": good})
        assert r.status_code == 200 and r["Content-Type"] == "audio/wav"
        assert b"".join(r.streaming_content) == wav
    missing = f"/telephony/local/recordings/RE{'b' * 32}"
    assert client.get(missing, headers={"Authorization": good}).status_code == 404
    # Real deployments (a real account, no demo) have no local provider at all.
    settings.RELAIS_DEMO = False
    settings.TWILIO_ACCOUNT_SID = "AC" + "f" * 32
    good = basic(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    assert client.get(path, headers={"Authorization": good}).status_code == 404
