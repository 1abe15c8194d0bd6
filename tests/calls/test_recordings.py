"""Downloading recordings (the pipeline's fetch step) from a real local HTTP server.

The test provider plays the local provider: it listens on 127.0.0.1 and RELAIS_PUBLIC_URL
is its exact origin (demo mode, as in tests/settings.py). Other servers on 127.0.0.1 play
what an attacker would point the worker at; they count every connection they get.
"""

import base64
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import FileSystemStorage

from relais.calls.providers import local, twilio
from relais.voicemail import pipeline, recordings
from relais.voicemail.models import PipelineStep, Voicemail
from relais.voicemail.pipeline import Step
from tests.helpers import Provider, call_params, drain, post_signed
from tests.services import assert_private_on_s3

SID = "RE" + "a" * 32
TOKEN = django_settings.TWILIO_AUTH_TOKEN
BIG = 200_000


@pytest.fixture
def provider(wav, settings):
    p = Provider({"ok": wav, "late": wav, "slow": wav, "big": b"\0" * BIG, "down": wav,
                  "auth": wav, "moved": wav})
    settings.RELAIS_PUBLIC_URL = p.origin  # the local provider's exact origin
    yield p
    p.close()


@pytest.fixture
def elsewhere(wav):
    """Another server of the public host (another port): it must never be reached."""
    p = Provider({"ok": wav, "moved": wav})
    yield p
    p.close()


def new_voicemail(url: str, n: int = 0) -> Voicemail:
    return Voicemail.objects.create(caller_e164="+33639980001", recording_sid=f"RE{n:032x}",
                                    recording_url=url, status=Voicemail.Status.RECEIVED)


def fetch(vm):
    return PipelineStep.objects.get(voicemail=vm, name="fetch")


@pytest.mark.django_db(transaction=True)
def test_downloads_succeed_after_retries_or_are_rejected(provider, wav, tmp_path, settings):
    settings.RELAIS_RECORDING_FETCH_TIMEOUT = 0.3
    settings.RELAIS_RECORDING_MAX_BYTES = BIG - 1
    provider.plans = {"late": [404, 404], "slow": ["slow"]}
    vms = {name: new_voicemail(provider.base + name, i)
           for i, name in enumerate(["ok", "late", "slow", "big"])}
    for vm in vms.values():
        pipeline.start(vm)
    drain()
    for vm in vms.values():
        vm.refresh_from_db()

    ok = vms["ok"]
    assert ok.status == Voicemail.Status.DONE
    assert (fetch(ok).status, fetch(ok).attempts) == ("done", 1)
    assert ok.audio.name.startswith("recordings/") and ok.audio.name.endswith(".wav")
    with ok.audio.open("rb") as stored:
        assert stored.read() == wav
    if isinstance(ok.audio.storage, FileSystemStorage):
        path = Path(ok.audio.path)
        assert path.is_relative_to(tmp_path / "media" / "recordings")
        with pytest.raises(ValueError, match="not accessible via a URL"):
            ok.audio.url  # noqa: B018 - the storage has no public URL
        assert not path.is_relative_to(Path(django_settings.STATIC_ROOT))
    else:
        assert_private_on_s3(ok.audio)
    basic = base64.b64encode(f"{settings.TWILIO_ACCOUNT_SID}:{TOKEN}".encode()).decode()
    assert set(provider.auth_seen) == {f"Basic {basic}"}
    recordings.fetch_step(ok)  # idempotent: nothing downloaded again
    assert provider.hits["ok"] == 1

    # 404 (not ready yet) twice, then downloaded.
    late = vms["late"]
    assert (late.status, fetch(late).status, fetch(late).attempts) == ("done", "done", 3)
    assert late.audio.read() == wav
    # A timeout, then downloaded.
    slow = vms["slow"]
    assert (slow.status, fetch(slow).status, fetch(slow).attempts) == ("done", "done", 2)
    assert slow.audio.read() == wav
    # Absurdly large: rejected for good, no retry.
    big = vms["big"]
    assert big.status == Voicemail.Status.REJECTED and f"plus de {BIG - 1}" in big.status_detail
    assert (fetch(big).status, fetch(big).attempts, provider.hits["big"]) == ("done", 1, 1)
    assert not big.audio


@pytest.mark.django_db(transaction=True)
def test_provider_errors_and_wrong_credentials_fail_visibly_then_recover(provider, settings,
                                                                         wav):
    settings.RELAIS_PIPELINE = [Step(recordings.fetch_step, "audio", max_attempts=3, name="fetch")]
    settings.TWILIO_AUTH_TOKEN = "a-wrong-token"
    provider.plans = {"down": [500, 503, 500, 500]}
    down, auth = new_voicemail(provider.base + "down", 1), new_voicemail(provider.base + "auth", 2)
    for vm in (down, auth):
        pipeline.start(vm)
    drain()
    for vm in (down, auth):
        vm.refresh_from_db()
        assert (fetch(vm).status, fetch(vm).attempts) == ("failed", 3)
        assert vm.status == Voicemail.Status.FAILED and not vm.audio
    assert "DownloadError: HTTP 500" in down.status_detail
    assert "DownloadError: HTTP 401" in auth.status_detail
    assert "a-wrong-token" not in auth.status_detail
    # The provider is back and the operator fixed the token: retried, nothing lost.
    settings.TWILIO_AUTH_TOKEN = TOKEN
    provider.plans = {}
    for vm in (down, auth):
        pipeline.retry_failed(vm)
    drain()
    for vm in (down, auth):
        vm.refresh_from_db()
        assert vm.status == Voicemail.Status.DONE and vm.audio.read() == wav


@pytest.mark.django_db
def test_credentials_are_never_sent_to_another_host():
    vm = new_voicemail(f"https://recordings.example.com/{SID}")  # e.g. a stored bad URL
    with pytest.raises(pipeline.Stop) as stop:
        recordings.fetch_step(vm)
    assert stop.value.status == "rejected"


def test_twilio_urls_ask_for_wav():
    url = f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Recordings/{SID}"
    assert twilio.PROVIDER.download_request(url)[0] == url + ".wav"
    assert twilio.PROVIDER.download_request(url + ".mp3")[0] == url + ".mp3"
    at_local = f"http://127.0.0.1:8000/telephony/local/recordings/{SID}"
    assert local.PROVIDER.download_request(at_local)[0] == at_local


# --- Only the provider's own hosts: no SSRF through RecordingUrl --------------------------

def stopped(vm) -> pipeline.Stop:
    with pytest.raises(pipeline.Stop) as stop:
        recordings.fetch_step(vm)
    assert stop.value.status == Voicemail.Status.REJECTED
    vm.refresh_from_db()
    assert not vm.audio
    return stop.value


@pytest.mark.django_db
def test_other_ports_schemes_and_hosts_of_the_public_host_are_never_fetched(provider,
                                                                           elsewhere):
    """In demo mode the local provider is RELAIS_PUBLIC_URL's exact origin, nothing more."""
    port = provider.port
    for n, url in enumerate([
        f"{elsewhere.base}ok",                               # another port of the host
        f"https://127.0.0.1:{port}/recordings/ok",           # another scheme
        f"http://localhost:{port}/recordings/ok",            # another name, same server
        f"http://127.0.0.2:{port}/recordings/ok",            # another host
        f"http://127.0.0.1:{port}@127.0.0.1:{elsewhere.port}/recordings/ok",  # userinfo
        f"http://127.0.0.1:{port}\\@127.0.0.1:{elsewhere.port}/recordings/ok",
        f"ftp://127.0.0.1:{port}/recordings/ok",
        "file:///etc/passwd",
    ]):
        stop = stopped(new_voicemail(url, n))
        assert "pas une adresse du fournisseur" in stop.detail
    assert (provider.connections, elsewhere.connections) == (0, 0)


@pytest.mark.django_db
def test_plain_http_and_the_public_origin_are_refused_outside_demo_mode(provider, settings):
    settings.RELAIS_DEMO = False
    stopped(new_voicemail(f"{provider.base}ok"))  # the public origin itself: no local provider
    stopped(new_voicemail("http://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1", 1))
    stopped(new_voicemail("https://api.twilio.com:8443/2010-04-01/Recordings/RE1", 2))
    assert provider.connections == 0


@pytest.mark.django_db
def test_a_redirect_to_another_origin_is_never_followed(provider, elsewhere):
    provider.plans = {"ok": [("redirect", f"{elsewhere.base}ok")],
                      "late": [("redirect", f"http://localhost:{provider.port}/recordings/x")],
                      "slow": [("redirect", "file:///etc/passwd")]}
    details = [stopped(new_voicemail(provider.base + name, n)).detail
               for n, name in enumerate(["ok", "late", "slow"])]
    for detail in details:
        assert detail.startswith(f"Enregistrement refusé : {provider.origin} redirige vers une "
                                 "adresse qui n'est pas celle du fournisseur")
    assert details[0].endswith(f"({elsewhere.origin}).")
    assert provider.hits == {"ok": 1, "late": 1, "slow": 1}  # the allowed origin only
    assert elsewhere.connections == 0 and elsewhere.hits == {}


@pytest.mark.django_db
def test_redirects_within_the_origin_are_followed_a_few_times_only(provider, wav, settings):
    provider.plans = {"ok": [("redirect", "/recordings/moved")]}  # relative Location
    vm = new_voicemail(provider.base + "ok")
    recordings.fetch_step(vm)
    vm.refresh_from_db()
    assert vm.audio.read() == wav and provider.hits == {"ok": 1, "moved": 1}
    settings.RELAIS_RECORDING_MAX_REDIRECTS = 2
    provider.plans = {"late": [("redirect", "/recordings/late")] * 5}
    stop = stopped(new_voicemail(provider.base + "late", 1))
    assert "plus de 2 redirections" in stop.detail and provider.hits["late"] == 3


@pytest.mark.django_db(transaction=True)
def test_a_rejected_url_leaves_a_clear_reason_on_the_message(provider, elsewhere):
    provider.plans = {"ok": [("redirect", f"{elsewhere.base}ok")]}
    bad, moved = new_voicemail(f"{elsewhere.base}ok", 1), new_voicemail(provider.base + "ok", 2)
    for vm in (bad, moved):
        pipeline.start(vm)
    drain()
    for vm in (bad, moved):
        vm.refresh_from_db()
        assert vm.status == Voicemail.Status.REJECTED and not vm.audio
        assert (fetch(vm).status, fetch(vm).attempts) == ("done", 1)  # not retried
    assert bad.status_detail.startswith("Adresse d'enregistrement refusée")
    assert moved.status_detail.startswith(f"Enregistrement refusé : {provider.origin} redirige")
    assert elsewhere.connections == 0


@pytest.mark.django_db
def test_credentials_go_to_the_first_origin_only(settings, monkeypatch):
    """Twilio may redirect a media request (e.g. to its CDN, once the operator lists that
    host): the hop is fetched without the account's credentials."""
    settings.RELAIS_RECORDING_HOSTS = ["api.twilio.com", ".twiliocdn.com"]
    sent = []

    class Answer:
        def __init__(self, status, headers, url):
            self.status_code, self.headers, self.url = status, headers, url

        def close(self):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def iter_content(self, chunk_size):
            yield b"RIFF"

    def get(url, auth=None, **kwargs):
        sent.append((url, auth, kwargs["allow_redirects"]))
        if "api.twilio.com" in url:
            return Answer(307, {"Location": "https://media.twiliocdn.com/AC1/abc"}, url)
        return Answer(200, {"Content-Type": "audio/x-wav"}, url)

    monkeypatch.setattr(recordings.requests, "get", get)
    url = f"https://api.twilio.com/2010-04-01/Accounts/AC{'1' * 32}/Recordings/{SID}"
    vm = new_voicemail(url)
    recordings.fetch_step(vm)
    credentials = (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    assert sent == [(url + ".wav", credentials, False),
                    ("https://media.twiliocdn.com/AC1/abc", None, False)]


@pytest.mark.django_db
def test_the_webhook_refuses_recording_urls_that_are_not_the_providers(client, provider,
                                                                       elsewhere, tracking):
    def signed(path, params):  # RELAIS_PUBLIC_URL is the test provider's origin here
        return post_signed(client, path, params, url=provider.origin + path)

    assert signed("/telephony/twilio/voice", call_params()).status_code == 200
    for url in (f"{elsewhere.base}ok", f"https://127.0.0.1:{provider.port}/recordings/ok",
                f"http://localhost:{provider.port}/recordings/ok"):
        r = signed("/telephony/twilio/recording-status", call_params(
            RecordingSid=SID, RecordingStatus="completed", RecordingUrl=url,
            RecordingDuration="3"))
        assert r.status_code == 400 and b"RecordingUrl" in r.content
    assert not Voicemail.objects.exists()
    assert (provider.connections, elsewhere.connections) == (0, 0)
