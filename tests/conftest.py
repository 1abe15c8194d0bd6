"""Fixtures for every test (folder conftests hold only what is their folder's own).

Builders of data are plain functions in ``tests/factories.py``; the helpers behind these
fixtures (SMTP server, browsers, subprocesses…) are in ``tests/helpers.py``.
"""

import pytest
from django.core.management import call_command

from tests import factories as f
from tests.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    FETCH_ONLY,
    ROUTING_STEPS,
    Mailbox,
    SMTPServer,
)
from tests.services import empty_redis_db

# --- Every test ------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Each test writes recordings and extracts into its own folder (on local storage;
    RELAIS_STORAGE=s3 keeps the session's S3 bucket, shared with worker processes)."""
    if settings.STORAGES["default"]["BACKEND"] != "django.core.files.storage.FileSystemStorage":
        return
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "base_url": None},
        },
    }


@pytest.fixture(scope="session", autouse=True)
def _live_server_serves_no_media():
    """Django's live server wraps the site in a media-files handler built from MEDIA_URL;
    Relais has none (MEDIA_URL = None: recordings are never public), which makes that
    handler fail on every request. Give it a prefix no URL uses, so it serves nothing."""
    from django.test import testcases

    original = testcases._MediaFilesHandler.get_base_url
    testcases._MediaFilesHandler.get_base_url = lambda self: "/__no-public-media__/"
    yield
    testcases._MediaFilesHandler.get_base_url = original


@pytest.fixture(autouse=True)
def _empty_task_queues(settings):
    """RQ's queues live in Redis, not in the test database: each test starts with none
    (the session's own Redis database, see tests/services.py)."""
    if settings.TASKS["default"]["BACKEND"].startswith("django_tasks_rq."):
        empty_redis_db()


# --- E-mail and the routing steps ------------------------------------------------------


@pytest.fixture
def smtp(settings):
    """A running SMTP server (``helpers.SMTPServer``: ``.mailbox``, ``.stop()``,
    ``.start()``); Django's smtp backend pointed at it."""
    server = SMTPServer(Mailbox())
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()


@pytest.fixture
def routing_steps(settings):
    """The pipeline is the route and notify steps; links point at the test client's host."""
    settings.RELAIS_PIPELINE = ROUTING_STEPS
    settings.RELAIS_PUBLIC_URL = "http://testserver"
    return settings


# --- The telephony world: a claimed listing, its tracking number, the local phone ---------


@pytest.fixture
def calls_settings(settings):
    """The pipeline is the fetch step only (``FETCH_ONLY``); the rate-limit counters
    start and end empty. Autouse in tests/calls and tests/demo."""
    from django.core.cache import cache

    settings.RELAIS_PIPELINE = FETCH_ONLY
    cache.clear()  # rate-limit counters
    yield settings
    cache.clear()


@pytest.fixture(scope="session")
def wav() -> bytes:
    """A 2 s WAV message (``factories.tone_wav``)."""
    return f.tone_wav(2.0)


@pytest.fixture
def listing(db):
    """``factories.make_listing()``: Plomberie Martin, claimed, calls forwarded to FORWARD."""
    return f.make_listing()


@pytest.fixture
def tracking(listing):
    """The tracking number ``TRACKING``, ringing ``listing``."""
    from relais.calls.models import TrackingNumber

    return TrackingNumber.objects.create(e164=f.TRACKING, listing=listing)


@pytest.fixture
def phone(db):
    """The local phone, talking to the webhooks in this process."""
    from relais.demo.phone import InProcess, LocalPhone

    return LocalPhone(InProcess())


# --- People and data -----------------------------------------------------------------------


@pytest.fixture
def operator(db):
    """A superuser, ``ops`` (``factories.superuser``)."""
    return f.superuser()


@pytest.fixture
def stock(tmp_path):
    """stock(rows, name="stock.csv", header=HEADER) → path of a written SIRENE file."""
    def make(rows, name="stock.csv", header=f.HEADER):
        return f.write_stock(tmp_path / name, rows, header)
    return make


@pytest.fixture
def paris_directory(tmp_path):
    """A generated directory, and claimed professionals placed around Paris; the called
    plumber has ``TRACKING``. Returns (called, plumbers by km, small_radius, electricians)."""
    from relais.calls.models import TrackingNumber

    sirene = tmp_path / "StockEtablissement.csv"
    call_command("generate_sirene", rows=3000, seed=5, out=str(sirene),
                 departements="75,92,93,94", no_progress=True, verbosity=0)
    call_command("import_sirene", str(sirene), verbosity=0)
    called = f.listing(*f.PARIS, email="appele@example.org", radius=30)
    called.forward_number = "+33261910099"
    called.save(update_fields=["forward_number"])
    TrackingNumber.objects.create(e164=f.TRACKING, listing=called)
    plumbers = {
        km: f.listing(*f.offset(*f.PARIS, north_km=km), email=f"plombier-{km}km@example.org",
                      radius=80)
        for km in (3, 6, 10, 15, 21, 32, 45, 60, 120)
    }
    # Within 50 km of the caller's plumber, but farther than it travels itself.
    small_radius = f.listing(*f.offset(*f.PARIS, east_km=8), email="petit-rayon@example.org",
                             radius=5)
    electricians = [
        f.listing(*f.offset(*f.PARIS, east_km=km), metiers=("electricien",),
                  email=f"electricien-{km}km@example.org", radius=80)
        for km in (1, 2)
    ]
    return called, plumbers, small_radius, electricians


# --- Heavy tools: Whisper, Chromium ----------------------------------------------------


@pytest.fixture(scope="session")
def whisper_model():
    """The real Whisper model of the settings, loaded once (mark the test ``whisper``)."""
    from relais.voicemail.transcription import get_model

    return get_model()


@pytest.fixture
def browser(monkeypatch):
    """Headless Chromium (Debian's) through Playwright (mark the test ``browser``)."""
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests
    # make around it are synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
        # The ORM calls made while Playwright's loop ran opened their own connection
        # (Django keys connections by async context): close it before the loop ends.
        connections.close_all()


@pytest.fixture
def reveal_numbers(settings):
    """The operator reveals shared requests' caller numbers for credits (the unlock;
    ``RELAIS_REVEAL_NUMBERS``, off by default)."""
    settings.RELAIS_REVEAL_NUMBERS = True
    return settings

@pytest.fixture(autouse=True)
def _fresh_search_cache():
    """Each test starts with no cached search answer (a rolled-back test's rows must not
    be served from the cache to the next one)."""
    from relais.directory.search_cache import invalidate

    invalidate()


@pytest.fixture
def trained_models(settings, tmp_path):
    """A model cache of the test's own (``tmp_path``) that already holds the models for
    the shipped training data, copied from the session's shared cache (trained there once
    per machine): tests of retraining train only what they change."""
    import shutil

    from relais.voicemail.understanding import model

    shared = model.load_or_train()
    source = model.model_dir() / f"understanding-{shared.key}.joblib"
    settings.RELAIS_MODEL_CACHE = tmp_path
    shutil.copy(source, tmp_path / source.name)
    return shared
