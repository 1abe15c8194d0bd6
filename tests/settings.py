"""Settings for the test suite: Relais settings with a throw-away data folder.

DATABASE_URL selects PostgreSQL (the suite runs on both); everything else is the
embedded default, with transport security relaxed for http://127.0.0.1 test servers.
"""

import os
import tempfile

os.environ.setdefault("RELAIS_TEST_SESSION", str(os.getpid()))
# A developer's var/relais.env (written by `dev.py start`) must not reach the tests, nor
# the processes they start: no settings file is read (relais/settings.py).
os.environ["RELAIS_ENV_FILE"] = ""
os.environ.setdefault("SECRET_KEY", "relais-test-suite-only")
os.environ.setdefault("RELAIS_DATA_DIR", tempfile.mkdtemp(prefix="relais-tests-"))
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
os.environ.setdefault("RELAIS_RETRY_BASE_SECONDS", "0")
# The demo app is installed from the environment (relais/settings.py): the suite runs a
# demo site, and worker subprocesses inherit it.
os.environ.setdefault("RELAIS_DEMO", "1")
# The Whisper model assembled from its packages (145 MB, checksum-verified on every
# load) is kept between runs instead of once per throw-away data folder.
os.environ.setdefault(
    "RELAIS_MODEL_CACHE", os.path.join(tempfile.gettempdir(), "relais-test-model-cache")
)

from tests.services import production_services

# RELAIS_TASKS_BACKEND=rq: a Redis database of the session's own; RELAIS_STORAGE=s3 with no
# AWS_S3_ENDPOINT_URL: moto's S3 server, started here (see tests/services.py).
production_services()

from relais.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
RELAIS_DEMO = True
# Failed logins from 127.0.0.1 add up in the session's cache across tests: the tests of
# these limits (tests/privacy/test_hardening.py) set their own and empty the cache.
RELAIS_LOGIN_MAX_FAILURES_PER_NETWORK = 10**6
RELAIS_LOGIN_MAX_FAILURES_PER_ACCOUNT = 10**6

# A file, not memory, so that worker subprocesses started by tests share the database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}  # noqa: F405

# Tests of the pipeline run their own list of steps (e.g. tests/voicemail/steps.py), also
# in worker subprocesses: RELAIS_TEST_PIPELINE names it (tests.voicemail.steps.SLOW_THEN_OK).
if os.environ.get("RELAIS_TEST_PIPELINE"):
    RELAIS_PIPELINE = os.environ["RELAIS_TEST_PIPELINE"]

# A Redis cache shared with other runs: keys of this session only.
if "redis" in CACHES["default"]["BACKEND"].lower():  # noqa: F405
    CACHES["default"]["KEY_PREFIX"] = f"relais-tests-{os.environ['RELAIS_TEST_SESSION']}"  # noqa: F405
if "redis" in CACHES["search"]["BACKEND"].lower():  # noqa: F405
    CACHES["search"]["KEY_PREFIX"] = f"relais-tests-{os.environ['RELAIS_TEST_SESSION']}"  # noqa: F405
