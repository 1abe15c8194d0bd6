"""Helpers shared by tests: processes, task queues, storage, local servers, browsers.

- ``relais``/``start_relais``/``relais_env``: ``relais ARGS`` in a subprocess on the test
  database; ``relais_isolated``: on a data folder of its own, in a clean environment;
  ``simulate_call``: a spoken call through ``relais simulate_call``;
  ``wait_for``: poll a condition while a process runs; ``kill_when``: then SIGKILL it.
- ``drain`` (run every due task in this process), ``make_deferred_tasks_due``,
  ``task_count``; the pipeline step lists ``FETCH_ONLY`` and ``ROUTING_STEPS``.
- ``Stored``/``stored_files``: files of the configured storage (local folder or S3).
- ``Mailbox``/``SMTPServer`` (behind the ``smtp`` fixture), ``recipients``;
  ``last_code``: the portal code last sent by SMS to a number.
- ``post_signed``/``call_params`` (a webhook as Twilio sends it), ``Provider`` (a
  scripted recording host), ``QuietHandler``/``serve_http`` (a local HTTP server for a
  fake provider API).
- ``CHROMIUM``/``CHROMIUM_ARGS`` (behind the ``browser`` fixture), ``audio_duration``.

Data builders are in ``tests/factories.py``, fixtures in ``tests/conftest.py``.
"""

import base64
import email
import email.policy
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from pathlib import Path

from django.db import connection

from relais.routing import steps as routing_steps
from relais.voicemail import recordings
from relais.voicemail.pipeline import Step
from tests.services import free_port

ROOT = Path(__file__).resolve().parent.parent


# --- relais in a subprocess ----------------------------------------------------------------


def database_url() -> str:
    """A URL for the test database, for processes started by a test."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def relais_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=database_url(),
        # This checkout's code first, whichever checkout the installed package points at.
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    )
    env.update(extra)
    return env


def relais(*args: str, env: dict | None = None, timeout: float = 300, **kw):
    """Run ``relais ARGS`` in a subprocess on the test database."""
    return subprocess.run(
        [sys.executable, "-m", "relais.cli", *args],
        env=env or relais_env(), capture_output=True, text=True, timeout=timeout, cwd=ROOT, **kw,
    )


def start_relais(*args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "relais.cli", *args],
        env=env or relais_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, **kw,
    )


def relais_isolated(env: dict[str, str], *args: str, module: str = "relais.cli",
                    timeout: float = 300):
    """Run ``relais ARGS`` (``python -m module ARGS``) in a clean environment: only what the
    process needs (PATH, HOME, LANG, PYTHONPATH, VIRTUAL_ENV) plus ``env`` — not the test
    settings, not the test database (``RELAIS_DATA_DIR`` in ``env`` gives it a folder of
    its own)."""
    keep = {"PATH", "HOME", "LANG", "PYTHONPATH", "VIRTUAL_ENV"}
    full = {k: v for k, v in os.environ.items() if k in keep}
    full["RELAIS_ENV_FILE"] = ""  # not a developer's var/relais.env either
    full.update(env)
    return subprocess.run([sys.executable, "-m", module, *args], env=full,
                          capture_output=True, text=True, timeout=timeout)


def simulate_call(tmp_path, live_server, text: str, consent: str) -> str:
    """``SPOKEN_CALLER`` calls ``TRACKING`` (``relais simulate_call``, its own process),
    nobody answers, ``text`` is spoken (espeak-ng) with ``consent``; returns the message's
    reference."""
    from tests.clips import speak
    from tests.factories import SPOKEN_CALLER, TRACKING

    clip = speak(text, tmp_path / f"{consent}-{len(text)}.wav", speed=110)
    env = relais_env(RELAIS_PUBLIC_URL=live_server.url)
    result = relais("simulate_call", "--to", TRACKING, "--from", SPOKEN_CALLER, "--audio",
                    str(clip), "--no-answer", "--consent", consent, "--json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    reference = json.loads(result.stdout)["voicemail_reference"]
    assert reference, result.stdout
    return reference


def wait_for(condition, seconds: float, what: str, process: subprocess.Popen | None = None,
             pause: float = 0.1) -> None:
    """Poll ``condition()`` until it is true. Fails when ``process`` (a worker started by
    the test, its output piped) dies, or after ``seconds`` (``what`` says what was awaited;
    the process is killed and its output shown)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if process is not None:
            assert process.poll() is None, process.stdout.read()
        if time.monotonic() > deadline:
            output = ""
            if process is not None:
                process.kill()
                output = "\n" + process.stdout.read()[-12000:]
            raise AssertionError(f"{what}: not after {seconds} s{output}")
        time.sleep(pause)


def kill_when(process: subprocess.Popen, condition, seconds: float, what: str,
              pause: float = 0.1) -> None:
    """Once ``condition()`` is true (``wait_for``), kill ``process`` (SIGKILL: a worker
    dying in the middle of its work); it is killed whatever happens."""
    try:
        wait_for(condition, seconds, what, process, pause)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()


# --- The task backend of the configuration under test (db or rq) -----------------------

# Pipelines made of some steps only (settings.RELAIS_PIPELINE in the test's process; for
# worker subprocesses RELAIS_TEST_PIPELINE=tests.helpers.FETCH_ONLY, see tests/settings.py).
FETCH_ONLY = [Step(recordings.fetch_step, "audio", name="fetch")]
ROUTING_STEPS = [Step(routing_steps.route, "default"), Step(routing_steps.notify, "notifications")]


def rq_backend() -> bool:
    from django.conf import settings

    return settings.TASKS["default"]["BACKEND"].startswith("django_tasks_rq.")


def drain() -> None:
    """Run every task that is ready (and what they enqueue), in this process.

    ``relais worker --batch``: db_worker's batch mode or rq_worker's burst mode.
    """
    from django.core.management import call_command

    call_command("worker", batch=True, startup_delay=False, no_schedule=True, verbosity=0)


def make_deferred_tasks_due() -> None:
    """Tasks enqueued with a run_after in the future become due now."""
    from django.utils import timezone

    if rq_backend():
        import django_rq
        from django.conf import settings
        from rq.registry import ScheduledJobRegistry

        for name in settings.RELAIS_QUEUES:
            registry = ScheduledJobRegistry(queue=django_rq.get_queue(name))
            ids = registry.get_job_ids()
            if ids:
                registry.connection.zadd(registry.key, dict.fromkeys(ids, 0))
    else:
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())


def task_count() -> int:
    """How many tasks were ever enqueued (and not purged) on the backend."""
    if rq_backend():
        import django_rq

        return len(django_rq.get_connection("default").keys("rq:job:*"))
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.count()


# --- Files in the configured storage (local folder or S3 bucket) -------------------------


class Stored:
    """A file of the default storage, looked up through the storage (local or S3)."""

    def __init__(self, name: str):
        self.name = name

    def exists(self) -> bool:
        from django.core.files.storage import default_storage

        return default_storage.exists(self.name)

    def __repr__(self) -> str:
        return f"Stored({self.name!r})"


def stored_files(prefix: str) -> list[str]:
    """Names of the files under ``prefix`` (a folder) in the default storage."""
    from django.core.files.storage import default_storage

    try:
        folders, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return []
    return [f"{prefix}/{f}" for f in files] + [
        name for folder in folders for name in stored_files(f"{prefix}/{folder}")]


# --- E-mail (a real SMTP server) and SMS ---------------------------------------------------


class Mailbox:
    """Messages received by the test SMTP server, parsed."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.peers: list = []  # the client's (host, port) of each message: its connection
        self.lock = threading.Lock()
        self.on_data = None  # hook(envelope) -> None (accept) or an SMTP reply

    async def handle_DATA(self, server, session, envelope):
        if self.on_data is not None:
            reply = self.on_data(envelope)
            if reply:  # e.g. "451 4.3.0 try again later"
                return reply
        with self.lock:
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.peers.append(session.peer)
            self.messages.append(email.message_from_bytes(envelope.content,
                                                          policy=email.policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str):
        return [m for m in self.messages if address in m["To"]]

    @staticmethod
    def subject(message) -> str:
        # Python folds long encoded subjects after "Subject:"; decoding keeps a space.
        return str(message["Subject"]).strip()

    @staticmethod
    def text(message) -> str:
        return message.get_body(("plain",)).get_content()

    @staticmethod
    def html(message) -> str:
        return message.get_body(("html",)).get_content()

    def clear(self):
        with self.lock:
            self.messages.clear()
            self.envelopes.clear()
            self.peers.clear()


class SMTPServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that a test can stop and restart."""

    def __init__(self, mailbox: Mailbox):
        self.mailbox = mailbox
        self.port = free_port()
        self.controller = None

    def start(self):
        from aiosmtpd.controller import Controller

        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
            time.sleep(0.05)


def recipients(mailbox: Mailbox) -> list[str]:
    """Every address the mailbox received a message for, sorted (once per message)."""
    return sorted(address for _, rcpts in mailbox.envelopes for address in rcpts)


def last_code(to: str) -> str:
    """The caller portal's code in the last SMS sent to ``to`` (the development outbox)."""
    from relais.core.models import OutboxMessage

    sms = OutboxMessage.objects.filter(kind="sms", to=to).order_by("-pk").first()
    assert sms is not None, f"no SMS to {to}"
    return re.search(r"code est (\d{6})", sms.body).group(1)


# --- Twilio's side: signed webhooks, a recording host, the REST API ----------------------

PUBLIC = "http://127.0.0.1:8000"  # RELAIS_PUBLIC_URL of the test settings
CALL_SID = "CA" + "1" * 32


def post_signed(client, path, params, *, token=None, url=None, signature=None, **extra):
    """POST ``params`` to ``path`` with the test client, signed by Twilio's official
    library as Twilio signs a webhook (for ``url``, by default PUBLIC + path)."""
    from django.conf import settings
    from twilio.request_validator import RequestValidator

    if signature is None:
        signature = RequestValidator(token or settings.TWILIO_AUTH_TOKEN).compute_signature(
            url or PUBLIC + path, params
        )
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return client.post(path, params, headers=headers, **extra)


def call_params(**extra) -> dict[str, str]:
    """A webhook's parameters for the call CALL_SID from PHONE_CALLER to TRACKING, ringing
    (``extra`` adds or replaces some)."""
    from django.conf import settings

    from tests.factories import PHONE_CALLER, TRACKING

    params = {"AccountSid": settings.TWILIO_ACCOUNT_SID, "CallSid": CALL_SID,
              "From": PHONE_CALLER, "To": TRACKING, "CallStatus": "ringing",
              "Direction": "inbound", "ApiVersion": "2010-04-01"}
    params.update(extra)
    return params



class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing and reads the Basic auth it was sent."""

    def log_message(self, *args):
        pass

    def basic_auth(self) -> str:
        """``user:password`` of the request's Basic ``Authorization`` header."""
        return base64.b64decode(self.headers["Authorization"].split()[1]).decode()


def serve_http(handler: type[BaseHTTPRequestHandler],
               server_class: type[HTTPServer] = HTTPServer) -> HTTPServer:
    """An HTTP server on a free port of 127.0.0.1, serving in a daemon thread; its
    ``server_port``; ``shutdown()`` it when done."""
    server = server_class(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Provider:
    """A scripted recording host: each path answers its planned statuses, then the audio.

    Plans hold HTTP statuses (answered whatever the credentials), "slow" (the audio
    after 1.5 s) or ("redirect", location); once a plan is used up, the audio is served
    to the right Basic auth: the settings' Twilio account and token when the provider is
    made (a test may then change the settings' token to a wrong one). ``connections``
    counts every TCP connection, even one that never sends a request.
    """

    def __init__(self, bodies: dict[str, bytes]):
        from django.conf import settings

        credentials = f"{settings.TWILIO_ACCOUNT_SID}:{settings.TWILIO_AUTH_TOKEN}"
        expected = "Basic " + base64.b64encode(credentials.encode()).decode()
        self.bodies = bodies
        self.plans: dict[str, list] = {}
        self.hits: dict[str, int] = {}
        self.auth_seen: list[str] = []
        self.connections = 0
        provider = self

        class Handler(QuietHandler):
            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                provider.hits[name] = provider.hits.get(name, 0) + 1
                header = self.headers.get("Authorization", "")
                provider.auth_seen.append(header)
                plan = provider.plans.get(name) or []
                step = plan.pop(0) if plan else "ok"
                if step == "slow":
                    time.sleep(1.5)
                elif isinstance(step, tuple):
                    self.send_response(302)
                    self.send_header("Location", step[1])
                    self.send_header("Content-Length", "0")
                    return self.end_headers()
                elif step != "ok":
                    return self.empty(step)
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

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address):
                provider.connections += 1
                return True

        self.server = serve_http(Handler, Server)
        self.port = self.server.server_port
        self.origin = f"http://127.0.0.1:{self.port}"
        self.base = f"{self.origin}/recordings/"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# --- Browsers (Debian's Chromium through Playwright) ---------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def audio_duration(page, selector: str = "audio") -> float:
    """Load the page's ``<audio>`` element (``selector``) and return its duration (s)."""
    return page.evaluate("""(selector) => new Promise((resolve, reject) => {
        const a = document.querySelector(selector);
        a.addEventListener('loadedmetadata', () => resolve(a.duration));
        a.addEventListener('error', () => reject('audio error ' + a.error.code));
        a.load();
    })""", selector)


# --- Accessibility: axe-core (npm, pinned in tests/a11y/package-lock.json) ----------------

AXE = ROOT / "tests" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
AXE_FAILING_IMPACTS = ("serious", "critical")


def axe_violations(page, impacts=AXE_FAILING_IMPACTS) -> list[dict]:
    """axe-core's violations of ``impacts`` on the page as it is now (injected as a script
    by Playwright; `python3 dev.py test` installs it with ``npm ci --prefix tests/a11y``)."""
    assert AXE.is_file(), f"{AXE} is missing: run `npm ci --prefix tests/a11y`"
    # Evaluated through the DevTools protocol: the pages' Content-Security-Policy (scripts
    # from 'self' only) stays on, as the visitor has it.
    page.evaluate(AXE.read_text() + "\n;undefined")
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in results["violations"] if v.get("impact") in impacts]


def assert_accessible(page) -> None:
    """No serious or critical axe-core violation on the page (each listed with its nodes)."""
    violations = axe_violations(page)
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in violations
    )
    assert not violations, f"axe-core on {page.url}:\n{report}"


# English words an English-preferring browser must never see on a French page (day and
# month names, relative dates).
ENGLISH_WORDS = re.compile(
    r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|March"
    r"|April|June|July|August|September|October|November|December|yesterday|today"
    r"|tomorrow|ago|hours?|days?|[ap]\.m\.)\b", re.IGNORECASE)


def assert_french(page) -> None:
    """The visible text and the title carry no English word, and the page says lang="fr"."""
    text = page.locator("body").inner_text() + " " + page.title()
    english = ENGLISH_WORDS.findall(text)
    assert not english, f"{page.url}: English words {english}"
    assert page.locator("html").get_attribute("lang") == "fr"
