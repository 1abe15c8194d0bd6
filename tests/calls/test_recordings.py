"""Downloading recordings (the pipeline's fetch step) from a real local HTTP server."""

import base64
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command

from relais.voicemail import pipeline, recordings
from relais.voicemail.models import PipelineStep, Voicemail
from tests.services import assert_private_on_s3

SID = "RE" + "a" * 32


class Provider:
    """A scripted recording host: each path answers its planned statuses, then the audio.

    Plans hold HTTP statuses (answered whatever the credentials) or "slow" (the audio
    after 1.5 s); once a plan is used up, the audio is served to the right Basic auth.
    """

    def __init__(self, bodies: dict[str, bytes]):
        self.bodies = bodies
        self.plans: dict[str, list] = {}
        self.hits: dict[str, int] = {}
        self.auth_seen: list[str] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                provider.hits[name] = provider.hits.get(name, 0) + 1
                header = self.headers.get("Authorization", "")
                provider.auth_seen.append(header)
                plan = provider.plans.get(name) or []
                step = plan.pop(0) if plan else "ok"
                if step == "slow":
                    time.sleep(1.5)
                elif step != "ok":
                    return self.empty(step)
                user = django_settings.TWILIO_ACCOUNT_SID
                expected = "Basic " + base64.b64encode(f"{user}:{TOKEN}".encode()).decode()
                if header != expected:
                    return self.empty(401)
                body = provider.bodies[name]
                self.send_response(200)
                self.send_header("Content-Type", "audio/x-wav")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def empty(self, status):
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_port}/recordings/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


TOKEN = django_settings.TWILIO_AUTH_TOKEN
BIG = 200_000


@pytest.fixture
def provider(wav):
    p = Provider({"ok": wav, "late": wav, "slow": wav, "big": b"\0" * BIG, "down": wav,
                  "auth": wav})
    yield p
    p.close()


def drain():
    call_command("worker", batch=True, startup_delay=False, no_schedule=True, verbosity=0)


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
    settings.RELAIS_PIPELINE_STEPS = [
        ("fetch", "relais.voicemail.recordings.fetch_step", "audio", 3)
    ]
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
    assert recordings.download_url(url) == url + ".wav"
    assert recordings.download_url(url + ".mp3") == url + ".mp3"
    local = f"http://127.0.0.1:8000/telephony/local/recordings/{SID}"
    assert recordings.download_url(local) == local
