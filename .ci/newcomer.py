#!/usr/bin/env python3
"""The newcomer, played: a fresh clone, `python3 dev.py start` in the background, then in
a plain shell (no environment variable) `.venv/bin/relais simulate_call ...`, and the
message arrives in the professional's inbox. The server is stopped whatever happens.

    python3 .ci/newcomer.py            (from a checkout; .ci/run runs it)

Only python3's standard library, so it runs before any venv exists. The clone gets its
own .venv (pip's cache makes it quick); the Whisper model folder of the test suite is
reused (RELAIS_MODEL_CACHE, given to `dev.py start` only).
"""

import html
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRACKING = "+33199000001"  # the first demo account's tracking number (README)
PRO, PASSWORD = "plombier.creteil1@example.org", "relais-demo"
SPOKEN = ("Bonjour, j'ai une fuite d'eau sous l'évier de la cuisine, pouvez-vous passer "
          "cette semaine pour la réparer ? Merci.")
START_TIMEOUT = 900  # venv install + migrate + the demo directory, on a shared 2-core box
MESSAGE_TIMEOUT = 300  # download, transcription, routing by the worker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(opener, url, data=None) -> str:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with opener.open(url, body, timeout=30) as response:
        return response.read().decode()


def wait_until(what, seconds, probe, server):
    deadline = time.monotonic() + seconds
    while True:
        if server.poll() is not None:
            sys.exit(f"newcomer: `dev.py start` exited with {server.returncode} "
                     f"while waiting for {what}")
        try:
            found = probe()
        except OSError:
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            sys.exit(f"newcomer: no {what} after {seconds} s")
        time.sleep(2)


def plain_env(clone: Path) -> dict:
    """A plain shell's environment: no Relais or Django variable."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(clone / "home"),
            "LANG": "C.UTF-8"}


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="relais-newcomer-"))
    clone = tmp / "relais"
    server = None
    ok = False
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
        subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(clone)],
                       check=True)
        subprocess.run(["git", "checkout", "--quiet", head], cwd=clone, check=True)
        (clone / "home").mkdir()
        port = free_port()
        env = dict(os.environ, PORT=str(port))
        for name in ("DATABASE_URL", "RELAIS_TASKS_BACKEND", "CACHE_URL", "RELAIS_STORAGE",
                     "RELAIS_DATA_DIR", "DEBUG", "RELAIS_DEMO", "RELAIS_PUBLIC_URL",
                     "DJANGO_SETTINGS_MODULE", "PYTHONPATH", "RELAIS_ENV_FILE"):
            env.pop(name, None)
        env.setdefault("RELAIS_MODEL_CACHE",
                       os.path.join(tempfile.gettempdir(), "relais-test-model-cache"))
        log = open(tmp / "start.log", "w")
        print(f"newcomer: python3 dev.py start (port {port}, log {tmp / 'start.log'})",
              flush=True)
        server = subprocess.Popen([sys.executable, "dev.py", "start"], cwd=clone, env=env,
                                  stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        started = time.monotonic()
        wait_until("web server", START_TIMEOUT, lambda: fetch(opener, base + "/"), server)
        print(f"newcomer: up after {time.monotonic() - started:.0f} s", flush=True)

        audio = tmp / "msg.wav"
        subprocess.run(["espeak-ng", "-v", "fr", "-s", "120", "-w", str(audio), SPOKEN],
                       check=True)
        # Another terminal, no variable set: the checkout's var/relais.env is the config.
        call = subprocess.run(
            [str(clone / ".venv/bin/relais"), "simulate_call", "--to", TRACKING, "--from",
             "+33611223344", "--audio", str(audio), "--no-answer"],
            cwd=clone, env=plain_env(clone), capture_output=True, text=True, timeout=300,
        )
        print(call.stdout + call.stderr, flush=True)
        if call.returncode != 0:
            sys.exit(f"newcomer: relais simulate_call failed ({call.returncode})")
        reference = re.search(r"reference (\d+)", call.stdout)
        if not reference:
            sys.exit("newcomer: no message left")

        login = fetch(opener, base + "/pro/connexion/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login).group(1)
        fetch(opener, base + "/pro/connexion/",
              {"csrfmiddlewaretoken": token, "username": PRO, "password": PASSWORD,
               "next": "/pro/"})

        def arrived():
            inbox = fetch(opener, base + "/pro/")
            for link in re.findall(r'href="(/pro/messages/[0-9a-f-]+/)"', inbox):
                page = html.unescape(fetch(opener, base + link))
                if reference.group(1) in page:
                    return link
            return None

        link = wait_until(f"message {reference.group(1)} in {PRO}'s inbox", MESSAGE_TIMEOUT,
                          arrived, server)
        print(f"newcomer: message {reference.group(1)} is in the inbox ({link}) "
              f"{time.monotonic() - started:.0f} s after the start", flush=True)
        ok = True
    finally:
        if server is not None:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)  # dev.py stops web + worker
                try:
                    server.wait(30)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(server.pid, signal.SIGKILL)  # anything of that group left
            except ProcessLookupError:
                pass
        if not ok and (tmp / "start.log").exists():
            print("newcomer: the end of dev.py start's output:", flush=True)
            print((tmp / "start.log").read_text()[-6000:], flush=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
