"""Settings for the test suite: Relais settings with a throw-away data folder.

DATABASE_URL selects PostgreSQL (the suite runs on both); everything else is the
embedded default, with transport security relaxed for http://127.0.0.1 test servers.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "relais-test-suite-only")
os.environ.setdefault("RELAIS_DATA_DIR", tempfile.mkdtemp(prefix="relais-tests-"))
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
os.environ.setdefault("RELAIS_RETRY_BASE_SECONDS", "0")

from relais.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
RELAIS_DEMO = True
# Django's live test server wraps the site in a media-files handler that calls
# urlparse(MEDIA_URL): with the production value (None, recordings are never served by
# URL) every request fails. A path nothing links to keeps the live server working.
MEDIA_URL = "/test-media-not-served/"
