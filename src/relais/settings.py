"""Relais settings: everything comes from the environment.

The embedded default (no variable set) is SQLite and local files under
``RELAIS_DATA_DIR`` (``./var``). The demo (``python3 dev.py start``) adds
``RELAIS_DEMO=1``. Production sets ``DATABASE_URL``, ``SECRET_KEY``, ``ALLOWED_HOSTS``,
``EMAIL_URL``, ``RELAIS_PUBLIC_URL``, ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN`` and
leaves ``DEBUG`` and ``RELAIS_DEMO`` off; ``relais check --deploy`` is then clean. See
docs/deployment.md.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent
# Run from a checkout (src/relais/ beside pyproject.toml and dev.py, an editable install):
# ``python3 dev.py start`` writes the settings it used (data folder, DEBUG, RELAIS_DEMO,
# public URL, port) to var/relais.env, read here so that the ``relais`` command in a
# plain shell, the worker and the web server agree. Variables set in the environment win.
# RELAIS_ENV_FILE names another file; empty, none is read (the test suite sets it so).
# The checkout's file is not read when SECRET_KEY, DATABASE_URL, ALLOWED_HOSTS or
# RELAIS_PUBLIC_URL is set (a deployment); DEBUG and RELAIS_DEMO are taken from a file only
# when its RELAIS_PUBLIC_URL is on this machine (127.0.0.1, localhost).
CHECKOUT = BASE_DIR.parent.parent
IN_CHECKOUT = (CHECKOUT / "pyproject.toml").is_file() and (CHECKOUT / "dev.py").is_file()
CHECKOUT_ENV_FILE = CHECKOUT / "var" / "relais.env"


def _read_env_file() -> Path | None:
    named = env.str("RELAIS_ENV_FILE", default=None)
    if named == "":
        return None
    path = Path(named) if named else (CHECKOUT_ENV_FILE if IN_CHECKOUT else None)
    if path is None or (not named and not path.is_file()):
        return None
    if not named and _deployment_in_environment():
        # A deployment (its own secret, database, hosts or URL) run from a checkout where
        # someone once tried the demo must not inherit DEBUG or the demo from it.
        return None
    if not path.is_file():
        raise ImproperlyConfigured(f"RELAIS_ENV_FILE={named}: no such file.")
    before = {name for name in LOCAL_ONLY_VARIABLES if name in env.ENVIRON}
    environ.Env.read_env(str(path), overwrite=False)
    if not _is_local_url(_file_value(path, "RELAIS_PUBLIC_URL")):
        # DEBUG and the demo come from the file only for a Relais on this machine.
        for name in LOCAL_ONLY_VARIABLES - before:
            env.ENVIRON.pop(name, None)
    return path


DEPLOYMENT_VARIABLES = ("SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "RELAIS_PUBLIC_URL")
LOCAL_ONLY_VARIABLES = frozenset({"DEBUG", "RELAIS_DEMO"})


def _deployment_in_environment() -> bool:
    """A deployment's own variable is set: the checkout's var/relais.env is not read."""
    return any(env.str(name, default="") for name in DEPLOYMENT_VARIABLES)


def _file_value(path: Path, name: str) -> str:
    """``name``'s value in the env file ``path`` ("" if absent): KEY=VALUE lines."""
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.strip().removeprefix("export ").partition("=")
        if sep and key.strip() == name:
            return value.strip().strip("'\"")
    return ""


def _is_local_url(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    return host in ("127.0.0.1", "localhost", "::1")


ENV_FILE = _read_env_file()

_data_dir = env.str("RELAIS_DATA_DIR", default=str(CHECKOUT / "var") if IN_CHECKOUT else "var")
if not _data_dir.strip():
    # An empty value would silently mean the current folder.
    raise ImproperlyConfigured(
        "RELAIS_DATA_DIR is set but empty: give a folder (or unset it for the default)."
    )
DATA_DIR = Path(_data_dir).expanduser().resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)
# Demo mode: explicit, never implied by DEBUG. It turns on the local provider (a fake
# Twilio: the local phone, its recording host), the email/SMS outbox pages and a banner
# on every page; the telephony credentials may then be the public defaults below.
# Off, real TWILIO_* credentials are required (system check relais.calls.E001).
RELAIS_DEMO = env.bool("RELAIS_DEMO", default=False)


def _secret_key() -> str:
    """SECRET_KEY from the environment; outside production a per-install key file."""
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if not DEBUG and env.str("DATABASE_URL", default=""):
        # A production deployment (its own database) takes its secrets from the
        # environment only; the embedded default keeps a per-install key file.
        raise ImproperlyConfigured(
            "SECRET_KEY must be set in the environment when DEBUG is off and DATABASE_URL is set."
        )
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(get_random_secret_key())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

# The public base URL the telephony provider and emails use (scheme://host[:port]).
RELAIS_PUBLIC_URL = env.str("RELAIS_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[RELAIS_PUBLIC_URL])

INSTALLED_APPS = [
    "relais.core",
    "relais.directory",
    "relais.pros",
    "relais.calls",
    "relais.voicemail",
    "relais.routing",
    "relais.texts",
    "relais.privacy",
    "relais.credits",
    "relais.callbacks",
    "relais.space",
    "relais.console",  # the operator's console (/operateur/)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "anymail",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
    "relais.core.login_limits.LoginLimitMiddleware",
]

ROOT_URLCONF = "relais.urls"
WSGI_APPLICATION = "relais.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "relais.core.context_processors.relais",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------
DATABASES = {
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{DATA_DIR / 'relais.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; IMMEDIATE transactions
    # avoid "database is locked" upgrades under concurrent writers.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;"
        ),
    }
# Connections are kept between requests (health-checked before each one): opening one
# costs ≈ 0.7 ms of CPU with SQLite (the file, the pragmas above, Django's functions),
# more with PostgreSQL — as much as a whole search answer.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, OTP throttles) ---------------------------------------------
CACHES = {
    "default": env.cache_url_config(
        env.str("CACHE_URL", default="") or f"filecache://{DATA_DIR / 'cache'}"
    )
}
# Search answers (relais.directory.search_cache): in the shared cache when there is one
# (Redis: every web node serves every node's answers); otherwise in each worker's memory
# (a file cache would cost a file write, and culling, per new search). Their invalidation
# always goes through "default", shared by the workers.
CACHES["search"] = (env.cache_url_config(env.str("CACHE_URL")) if env.str("CACHE_URL", default="")
                    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                          "LOCATION": "relais-search", "OPTIONS": {"MAX_ENTRIES": 20000}})

# --- Tasks (Django's Tasks API through the django-tasks backport) ------------------
RELAIS_QUEUES = ["default", "audio", "transcription", "notifications", "maintenance"]
_tasks_backend = env.str("RELAIS_TASKS_BACKEND", default="db")
if _tasks_backend == "rq":
    TASKS = {
        "default": {
            "BACKEND": "django_tasks_rq.RQBackend",
            "QUEUES": RELAIS_QUEUES,
        }
    }
    # One Redis for every queue; a task running longer than RELAIS_TASK_TIMEOUT_SECONDS
    # (by default the step lease) is stopped (RQ's default, 180 s, would cut a long
    # transcription short).
    RQ_QUEUES = {
        name: {
            "URL": env.str("REDIS_URL", default="redis://127.0.0.1:6379/0"),
            "DEFAULT_TIMEOUT": env.int(
                "RELAIS_TASK_TIMEOUT_SECONDS",
                default=env.int("RELAIS_STEP_LEASE_SECONDS", default=900),
            ),
        }
        for name in RELAIS_QUEUES
    }
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
elif _tasks_backend == "db":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": RELAIS_QUEUES}}
else:
    raise ImproperlyConfigured("RELAIS_TASKS_BACKEND must be 'db' or 'rq'.")

# --- Files: recordings are never served by a public URL -----------------------------
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = None
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise serves from here once collectstatic ran
WHITENOISE_USE_FINDERS = True
_storage = env.str("RELAIS_STORAGE", default="local")
if _storage == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
elif _storage == "local":
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": None},
    }
else:
    raise ImproperlyConfigured("RELAIS_STORAGE must be 'local' or 's3'.")
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Email -------------------------------------------------------------------------
# EMAIL_URL: smtp://user:pass@host:port, smtp+tls://…, consolemail://, or
# "outbox:" (the embedded default: a development outbox stored in the database and
# shown on the demo pages). django-anymail providers: EMAIL_BACKEND + ANYMAIL vars.
_email_url = env.str("EMAIL_URL", default="") or "outbox:"
if _email_url.startswith("outbox:"):
    _email = {"EMAIL_BACKEND": "relais.core.outbox.OutboxEmailBackend"}
else:
    _email = env.email_url_config(_email_url)
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default=_email["EMAIL_BACKEND"])
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH", str(DATA_DIR / "mail"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Relais <ne-pas-repondre@relais.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ANYMAIL = env.json("ANYMAIL", default={})

# --- Authentication -----------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "relais.core.login_limits.LoginLimitBackend",  # per network and per account
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "pros:login"
LOGIN_REDIRECT_URL = "space:inbox"
LOGOUT_REDIRECT_URL = "directory:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# On top of axes' (account, address) lockout: failed logins per hour from one network
# (IPv4 /24, IPv6 /64) whatever the accounts (password spraying), and for one account
# name whatever the networks (relais.core.login_limits).
RELAIS_LOGIN_MAX_FAILURES_PER_NETWORK = env.int("RELAIS_LOGIN_MAX_FAILURES_PER_NETWORK",
                                                default=30)
RELAIS_LOGIN_MAX_FAILURES_PER_ACCOUNT = env.int("RELAIS_LOGIN_MAX_FAILURES_PER_ACCOUNT",
                                                default=20)

# --- Internationalisation --------------------------------------------------------------
# The interface is in French only, whatever the browser's Accept-Language: no
# LocaleMiddleware, one language. Texts stay in gettext (Django's French catalog
# gives dates, months and days).
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Security ----------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# --- Logging ----------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# --- Telephony (TwiML dialect; Twilio's helper library) ----------------------------------
# The defaults are the local phone's public placeholders (relais.calls.providers.local.LOCAL_*):
# accepted in demo mode only. Anywhere else set both from the provider's console.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="AC" + "0" * 32)
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="relais-local-phone-token")
RELAIS_CALLER_RATE_LIMIT = env.int("RELAIS_CALLER_RATE_LIMIT", default=10)  # calls/hour/caller
# Recording downloads send the account credentials: only over https (port 443) to these
# hosts (a leading dot matches subdomains), each redirect hop checked the same way; in
# demo mode also to RELAIS_PUBLIC_URL's exact origin (the local provider).
RELAIS_RECORDING_HOSTS = env.list(
    "RELAIS_RECORDING_HOSTS", default=["api.twilio.com", ".twilio.com"]
)
RELAIS_RECORDING_MAX_REDIRECTS = env.int("RELAIS_RECORDING_MAX_REDIRECTS", default=3)
RELAIS_RECORDING_FETCH_TIMEOUT = env.float("RELAIS_RECORDING_FETCH_TIMEOUT", default=30.0)
RELAIS_RECORDING_MAX_BYTES = env.int("RELAIS_RECORDING_MAX_BYTES", default=50 * 1024 * 1024)
# Consent is final once the caller answered (or hung up); failing that, this long after
# the message was created it is settled to "private" (see relais.voicemail.consent).
RELAIS_CONSENT_WAIT_SECONDS = env.int("RELAIS_CONSENT_WAIT_SECONDS", default=300)
# A request written by SMS is asked its consent by SMS ("répondez OUI"): no answer within
# this window = private.
RELAIS_SMS_CONSENT_WAIT_SECONDS = env.int("RELAIS_SMS_CONSENT_WAIT_SECONDS", default=3600)

# --- Transcription ---------------------------------------------------------------------
RELAIS_WHISPER_MODEL = env.str("RELAIS_WHISPER_MODEL", default="base")
RELAIS_WHISPER_DEVICE = env.str("RELAIS_WHISPER_DEVICE", default="cpu")
RELAIS_WHISPER_COMPUTE_TYPE = env.str("RELAIS_WHISPER_COMPUTE_TYPE", default="int8")
RELAIS_WHISPER_THREADS = env.int("RELAIS_WHISPER_THREADS", default=2)
RELAIS_WHISPER_BEAM_SIZE = env.int("RELAIS_WHISPER_BEAM_SIZE", default=5)
# Chunks decoded together by faster-whisper's batched pipeline; 0 = sequential decoding
# (with temperature fallback). See docs/benchmarks.md, "Transcription".
RELAIS_WHISPER_BATCH_SIZE = env.int("RELAIS_WHISPER_BATCH_SIZE", default=8)
RELAIS_WHISPER_LANGUAGE = env.str("RELAIS_WHISPER_LANGUAGE", default="fr")  # or "auto"
RELAIS_MODEL_CACHE = Path(env.str("RELAIS_MODEL_CACHE", default=str(DATA_DIR / "models")))
RELAIS_MAX_AUDIO_SECONDS = env.int("RELAIS_MAX_AUDIO_SECONDS", default=600)
RELAIS_EXTRACT_SECONDS = env.int("RELAIS_EXTRACT_SECONDS", default=20)

# --- Pipeline ---------------------------------------------------------------------------
RELAIS_STEP_MAX_ATTEMPTS = env.int("RELAIS_STEP_MAX_ATTEMPTS", default=5)
RELAIS_RETRY_BASE_SECONDS = env.float("RELAIS_RETRY_BASE_SECONDS", default=30.0)
RELAIS_RETRY_MAX_SECONDS = env.float("RELAIS_RETRY_MAX_SECONDS", default=3600.0)
RELAIS_STEP_LEASE_SECONDS = env.int("RELAIS_STEP_LEASE_SECONDS", default=900)
# What the workers run, listed in relais/flow.py (dotted paths, resolved once).
RELAIS_PIPELINE = "relais.flow.PIPELINE"
RELAIS_PERIODIC_JOBS = "relais.flow.PERIODIC"

# --- Routing and delivery ---------------------------------------------------------------
RELAIS_ROUTING_RADIUS_KM = env.float("RELAIS_ROUTING_RADIUS_KM", default=50.0)
RELAIS_ROUTING_MAX_RECIPIENTS = env.int("RELAIS_ROUTING_MAX_RECIPIENTS", default=5)
RELAIS_SHARE_CONFIDENCE_THRESHOLD = env.float("RELAIS_SHARE_CONFIDENCE_THRESHOLD", default=0.8)
RELAIS_UNLOCK_CAP = env.int("RELAIS_UNLOCK_CAP", default=3)
RELAIS_UNLOCK_COST = env.int("RELAIS_UNLOCK_COST", default=1)
# Call-backs through Relais (relais.callbacks): a call-back is charged (RELAIS_UNLOCK_COST,
# once per professional and message, within RELAIS_UNLOCK_CAP) only when the caller
# answered and the bridge lasted at least RELAIS_CALLBACK_MIN_SECONDS; at most
# RELAIS_CALLBACK_MAX_PER_DAY attempts per professional, message and day; charges are
# returned once RELAIS_RETURN_FEEDBACKS recipients said "pas pour moi".
RELAIS_CALLBACK_MIN_SECONDS = env.int("RELAIS_CALLBACK_MIN_SECONDS", default=30)
RELAIS_CALLBACK_MAX_PER_DAY = env.int("RELAIS_CALLBACK_MAX_PER_DAY", default=3)
RELAIS_RETURN_FEEDBACKS = env.int("RELAIS_RETURN_FEEDBACKS", default=2)
# Showing a shared request's caller number for credits (the old unlock): off by default,
# recipients call back through Relais instead.
RELAIS_REVEAL_NUMBERS = env.bool("RELAIS_REVEAL_NUMBERS", default=False)
# Buying credits with Stripe Checkout (off unless STRIPE_SECRET_KEY is set): one pack is
# RELAIS_CREDIT_PACK_CREDITS credits for RELAIS_CREDIT_PACK_PRICE_CENTS (EUR, tax included).
# The webhook (/credits/stripe/webhook/) needs STRIPE_WEBHOOK_SECRET (whsec_…).
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
RELAIS_CREDIT_PACK_CREDITS = env.int("RELAIS_CREDIT_PACK_CREDITS", default=10)
RELAIS_CREDIT_PACK_PRICE_CENTS = env.int("RELAIS_CREDIT_PACK_PRICE_CENTS", default=1000)
RELAIS_LINK_MAX_AGE_DAYS = env.int("RELAIS_LINK_MAX_AGE_DAYS", default=14)
# Notification emails: attempts before "failed" (with the pipeline's capped backoff,
# 60 attempts ≈ 2½ days of SMTP outage), the lease of one send, the daily digest hour.
RELAIS_NOTIFY_MAX_ATTEMPTS = env.int("RELAIS_NOTIFY_MAX_ATTEMPTS", default=60)
RELAIS_NOTIFY_LEASE_SECONDS = env.int("RELAIS_NOTIFY_LEASE_SECONDS", default=300)
# Instant emails per notification task, sent over one SMTP connection.
RELAIS_NOTIFY_BATCH_SIZE = env.int("RELAIS_NOTIFY_BATCH_SIZE", default=25)
# Search answers kept in the cache (relais.directory.search_cache); 0: off.
RELAIS_SEARCH_CACHE_SECONDS = env.int("RELAIS_SEARCH_CACHE_SECONDS", default=60)
# The number pool (relais.directory.pool): how long a shown number stays bound to its
# listing and visitor, how long it stays quiet before serving another listing, how long
# bindings are kept, how many numbers one network may have bound per hour.
RELAIS_POOL_BINDING_SECONDS = env.int("RELAIS_POOL_BINDING_SECONDS", default=1800)
RELAIS_POOL_QUIET_SECONDS = env.int("RELAIS_POOL_QUIET_SECONDS", default=3600)
RELAIS_POOL_KEEP_DAYS = env.int("RELAIS_POOL_KEEP_DAYS", default=7)
RELAIS_POOL_BINDINGS_PER_NETWORK_HOUR = env.int("RELAIS_POOL_BINDINGS_PER_NETWORK_HOUR",
                                                default=60)
RELAIS_DIGEST_HOUR = env.int("RELAIS_DIGEST_HOUR", default=18)  # local time (TIME_ZONE)

# --- Retention (days) --------------------------------------------------------------------
RELAIS_RETENTION_AUDIO_DAYS = env.int("RELAIS_RETENTION_AUDIO_DAYS", default=30)
RELAIS_RETENTION_TRANSCRIPT_DAYS = env.int("RELAIS_RETENTION_TRANSCRIPT_DAYS", default=90)
RELAIS_RETENTION_METADATA_DAYS = env.int("RELAIS_RETENTION_METADATA_DAYS", default=365)
# Messages purged per kind and per run of the hourly job (relais purge loops until done).
RELAIS_PURGE_BATCH = env.int("RELAIS_PURGE_BATCH", default=2000)

# --- Caller portal (/appelant/) and SMS ----------------------------------------------------
# "outbox": SMS kept in the development outbox (the embedded default, shown on the demo
# outbox page); "twilio": sent through Twilio's API with TWILIO_ACCOUNT_SID/AUTH_TOKEN
# from RELAIS_SMS_FROM (a number or an alphanumeric sender ID the account may use).
RELAIS_SMS_BACKEND = env.str("RELAIS_SMS_BACKEND", default="outbox")
if RELAIS_SMS_BACKEND not in ("outbox", "twilio"):
    raise ImproperlyConfigured("RELAIS_SMS_BACKEND must be 'outbox' or 'twilio'.")
RELAIS_SMS_FROM = env.str("RELAIS_SMS_FROM", default="Relais")
RELAIS_OTP_TTL_SECONDS = env.int("RELAIS_OTP_TTL_SECONDS", default=600)
RELAIS_OTP_MAX_ATTEMPTS = env.int("RELAIS_OTP_MAX_ATTEMPTS", default=5)
RELAIS_OTP_MAX_SENDS_PER_HOUR = env.int("RELAIS_OTP_MAX_SENDS_PER_HOUR", default=3)
RELAIS_OTP_MAX_SENDS_PER_DAY = env.int("RELAIS_OTP_MAX_SENDS_PER_DAY", default=6)
RELAIS_PORTAL_SESSION_SECONDS = env.int("RELAIS_PORTAL_SESSION_SECONDS", default=1800)
# Code requests per hour from one client network (IPv4 /24, IPv6 /64), whatever the
# reference: bounds one machine trying many references even when it rotates addresses
# (behind a proxy, REMOTE_ADDR must be the client's). RELAIS_PORTAL_MAX_REQUESTS_PER_ADDRESS
# is the former name, still read.
RELAIS_PORTAL_MAX_REQUESTS_PER_NETWORK = env.int(
    "RELAIS_PORTAL_MAX_REQUESTS_PER_NETWORK",
    default=env.int("RELAIS_PORTAL_MAX_REQUESTS_PER_ADDRESS", default=20),
)
# Code requests per hour for one reference, whatever the number and the network (and
# whether or not the reference exists).
RELAIS_PORTAL_MAX_REQUESTS_PER_REFERENCE = env.int("RELAIS_PORTAL_MAX_REQUESTS_PER_REFERENCE",
                                                   default=10)

# --- Demo ---------------------------------------------------------------------------------
# The demo app (local phone, local provider, outbox page, seed_demo, simulate_call,
# generate_sirene) is installed only on demo sites (RELAIS_DEMO, read above); nothing
# else imports it.
if RELAIS_DEMO:
    INSTALLED_APPS.append("relais.demo")
