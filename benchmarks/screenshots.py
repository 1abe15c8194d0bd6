"""Screenshots of the main pages at 1280 px and 390 px, for docs/img/ (not a test).

    PYTHONPATH=src:. python benchmarks/screenshots.py [--out docs/img]

A throw-away demo site (its own data folder, a small demo directory, two messages for
plombier.creteil1@example.org), served by ``relais runserver`` on a free port, shot by
Debian's Chromium through Playwright in a browser that prefers English (the pages must
stay French). Stops its server whatever happens. Prints one JSON line per picture.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
WIDTHS = {"1280": {"width": 1280, "height": 800}, "390": {"width": 390, "height": 844}}
PRO, PASSWORD = "plombier.creteil1@example.org", "relais-demo"

# Two messages for the first demo plumber: its own (private), and a shared request.
MESSAGES = """
from django.core.files.base import ContentFile
from relais.calls.models import TrackingNumber
from relais.directory.models import Metier
from relais.routing import services as routing
from relais.voicemail.models import Voicemail
from relais.demo.views import SAMPLE_MESSAGE
plumber = Metier.objects.get(slug="plombier")
listings = [TrackingNumber.objects.get(e164=n).listing for n in ("+33199000001", "+33199000002")]
texts = [
    ("private", "Bonjour, j'ai une fuite d'eau sous l'évier de la cuisine, pouvez-vous passer "
     "demain matin ? Je suis à Créteil. Merci de me rappeler au 06 12 34 56 78.",
     "Bonjour, j'ai une fuite d'eau sous l'évier de la cuisine, pouvez-vous passer "
     "demain matin ? Je suis à Créteil. Merci de me rappeler au [numéro]."),
    ("share", "Bonjour, mon chauffe-eau ne chauffe plus du tout, j'aurais besoin d'un devis "
     "rapidement à Créteil. C'est Julie Martin.",
     "Bonjour, mon chauffe-eau ne chauffe plus du tout, j'aurais besoin d'un devis "
     "rapidement à Créteil. C'est [nom]."),
]
for listing, (consent, text, redacted) in zip(listings, texts):
    vm = Voicemail.objects.create(
        listing=listing, caller_e164="+33612345678", consent=consent,
        consent_recorded_at=__import__("django.utils.timezone").utils.timezone.now(),
        status=Voicemail.Status.PROCESSING, transcript=text, redacted_text=redacted,
        intent="quote_request", shareable=True, confidence=0.95, metier=plumber,
        urgency="normal", language="fr")
    vm.audio.save("message.wav", ContentFile(SAMPLE_MESSAGE.read_bytes()), save=True)
    vm.extract.save("extract.wav", ContentFile(SAMPLE_MESSAGE.read_bytes()), save=True)
    routing.route_voicemail(vm)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def relais(env, *args, **kw):
    return subprocess.run([sys.executable, "-m", "relais.cli", *args], env=env, check=True,
                          cwd=ROOT, **kw)


def shoot(base: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for width, viewport in WIDTHS.items():
            context = browser.new_context(viewport=viewport, locale="en-US")
            page = context.new_page()
            page.goto(base + "/pro/connexion/?next=/pro/")
            page.fill('input[name="username"]', PRO)
            page.fill('input[name="password"]', PASSWORD)
            page.get_by_role("button", name="Se connecter").click()
            page.wait_for_url(base + "/pro/")
            message = page.locator("tr.delivery-row a").first.get_attribute("href")
            search = "/recherche/?quoi=plombier&ou=Cr%C3%A9teil"
            page.goto(base + search)
            unnamed = page.locator(".result h2 a", has_text="nom non diffusé").first
            listing = unnamed.get_attribute("href") if unnamed.count() else None
            pages = [("search", search), ("pro-inbox", "/pro/"), ("pro-message", message),
                     ("pro-credits", "/pro/credits/"), ("demo-phone", "/demo/telephone/")]
            if listing:
                pages.insert(1, ("listing-unnamed", listing))
            for name, path in pages:
                page.goto(base + path)
                path_out = out / f"{name}-{width}.png"
                page.screenshot(path=str(path_out), full_page=width == "390")
                print(json.dumps({"picture": str(path_out), "width": width,
                                  "page": path}), flush=True)
            context.close()
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "img"))
    parser.add_argument("--rows", type=int, default=6000)
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="relais-screenshots-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH")}
    env.update(RELAIS_ENV_FILE="", RELAIS_DATA_DIR=str(data), DEBUG="1", RELAIS_DEMO="1",
               RELAIS_PUBLIC_URL=base, PYTHONPATH=os.pathsep.join([str(ROOT / "src"),
                                                                   str(ROOT)]))
    server = None
    try:
        relais(env, "migrate", "--no-input", stdout=subprocess.DEVNULL)
        relais(env, "seed_demo", "--rows", str(args.rows), "--no-progress",
               stdout=subprocess.DEVNULL)
        relais(env, "shell", "-c", MESSAGES, stdout=subprocess.DEVNULL)
        server = subprocess.Popen([sys.executable, "-m", "relais.cli", "runserver",
                                   "--noreload", f"127.0.0.1:{port}"], env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=5).read()  # noqa: S310 - http://127.0.0.1
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.5)
        shoot(base, out)
    finally:
        if server is not None:
            server.terminate()
            server.wait(15)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
