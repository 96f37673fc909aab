"""Settings for Headshots. Every value comes from the environment, with embedded defaults.

Nothing at all is needed to run locally: SQLite, a local media folder, console e-mail, a
local-memory cache and the database task queue. Production sets DEBUG=false and the variables
in .env.example; a missing SECRET_KEY or a malformed value stops start-up with one line
(manage.py and wsgi.py print it without a traceback).
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.utils.csp import CSP

from headshots.environment import (
    SettingsError,
    read_bool,
    read_cache,
    read_choice,
    read_database,
    read_email_url,
    read_float,
    read_int,
    read_list,
    read_optional,
    read_str,
    read_url,
    with_query_defaults,
)
from lib.client_ip import parse_trusted_proxies
from payments.packs import parse_packs

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Core ---------------------------------------------------------------------------------
DEBUG = read_bool("DEBUG", True)
_secret_key = read_optional("SECRET_KEY")
if _secret_key is None and not DEBUG:
    raise SettingsError(
        "SECRET_KEY is not set: production (DEBUG=false) needs a long random value."
    )
# The fallback only ever serves DEBUG mode on a developer's machine.
SECRET_KEY = _secret_key or "django-insecure-local-development-only-never-in-production"

SITE_URL = read_url("SITE_URL", "http://127.0.0.1:8000", schemes=("http", "https")).rstrip("/")
_site = urlsplit(SITE_URL)
ALLOWED_HOSTS = read_list(
    "ALLOWED_HOSTS", [_site.hostname or "localhost", "localhost", "127.0.0.1"]
)
CSRF_TRUSTED_ORIGINS = [f"{_site.scheme}://{_site.netloc}"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "django_tasks_db",
    "headshots",
    "accounts",
    "training",
    "privacy",
    "payments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "headshots.middleware.RequestTooLargeMiddleware",
    "headshots.middleware.SiteNotFoundPageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
]

ROOT_URLCONF = "headshots.urls"
WSGI_APPLICATION = "headshots.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database and cache -------------------------------------------------------------------
DATABASES = {"default": read_database("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = read_int("CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory, so that a worker process in the tests sees the same test database.
    DATABASES["default"]["TEST"] = {"NAME": f"{DATABASES['default']['NAME']}.test"}
    # `make run` writes from the web server, the worker and the emulators' webhooks at once.
    # SQLite's default deferred transactions fail at once ("database is locked") when two of
    # them upgrade to writing; immediate ones queue for the write lock instead (up to 20 s),
    # and WAL lets pages read while a task writes.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        **DATABASES["default"].get("OPTIONS", {}),  # what the URL's query names wins
    }
# Bounded waits (libpq waits for a connection forever; redis-py's bound is its version's
# default): a server that accepts and never answers fails a request or a task, never hangs it.
DATABASE_CONNECT_TIMEOUT_SECONDS = 5
REDIS_TIMEOUTS = {"socket_connect_timeout": 2, "socket_timeout": 3}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"]["connect_timeout"] = DATABASE_CONNECT_TIMEOUT_SECONDS

REDIS_URL = read_optional("REDIS_URL")
_cache_url = read_optional("CACHE_URL") or REDIS_URL or "locmemcache://"
CACHES = {"default": read_cache("CACHE_URL", _cache_url)}
if CACHES["default"]["BACKEND"].endswith("RedisCache"):  # passed on to the connection pool
    CACHES["default"]["OPTIONS"] = {**REDIS_TIMEOUTS, **CACHES["default"].get("OPTIONS", {})}

# --- Rate limits (django-ratelimit, on the shared cache) and quotas ------------------------
# Proxies whose X-Forwarded-For names the visitor (lib/client_ip.py): a number of proxies
# in front, or their addresses and CIDRs. Empty: the connecting address is the visitor.
TRUSTED_PROXIES = read_list("TRUSTED_PROXIES", [])
try:
    parse_trusted_proxies(TRUSTED_PROXIES)
except ValueError as _error:
    raise SettingsError(f"TRUSTED_PROXIES={','.join(TRUSTED_PROXIES)!r}: {_error}.") from None
RATELIMIT_IP_META_KEY = "lib.client_ip.client_ip"
RATELIMIT_USE_CACHE = "default"
RATELIMIT_VIEW = "lib.ratelimits.rate_limited"
RATE_LIMIT_ORDERS = read_str("RATE_LIMIT_ORDERS", "5/h")
RATE_LIMIT_ORDERS_PER_IP = read_str("RATE_LIMIT_ORDERS_PER_IP", "20/h")
# Every submission of the order form, refused ones too: an abuse limit, far above the orders'.
RATE_LIMIT_ORDER_ATTEMPTS = read_str("RATE_LIMIT_ORDER_ATTEMPTS", "30/h")
RATE_LIMIT_ORDER_ATTEMPTS_PER_IP = read_str("RATE_LIMIT_ORDER_ATTEMPTS_PER_IP", "100/h")
RATE_LIMIT_DOWNLOADS = read_str("RATE_LIMIT_DOWNLOADS", "60/h")
RATE_LIMIT_CHANGES = read_str("RATE_LIMIT_CHANGES", "30/h")
RATE_LIMIT_UPLOADS = read_str("RATE_LIMIT_UPLOADS", "20/h")
RATE_LIMIT_FEEDBACK = read_str("RATE_LIMIT_FEEDBACK", "300/h")
RATE_LIMIT_ADMIN_LOGIN = read_str("RATE_LIMIT_ADMIN_LOGIN", "10/h")  # per account tried
RATE_LIMIT_ADMIN_LOGIN_PER_IP = read_str("RATE_LIMIT_ADMIN_LOGIN_PER_IP", "30/h")
TRAINING_COOLDOWN_MINUTES = read_int("TRAINING_COOLDOWN_MINUTES", 10)
MAX_ACTIVE_ORDERS_PER_USER = read_int("MAX_ACTIVE_ORDERS_PER_USER", 2, minimum=1)
STORAGE_QUOTA_MB = read_int("STORAGE_QUOTA_MB", 500, minimum=1)

# --- Background work (django.tasks) -------------------------------------------------------
TASKS_BACKEND = read_choice("TASKS_BACKEND", "database", ("database", "rq", "immediate"))
if TASKS_BACKEND == "rq":
    if REDIS_URL is None:
        raise SettingsError(
            "TASKS_BACKEND=rq needs REDIS_URL (for example redis://127.0.0.1:6379/0)."
        )
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    # django-rq hands only the URL to redis-py, so the bounds travel in its query string (the
    # worker itself raises the read bound above its own blocking wait for jobs).
    RQ_QUEUES = {"default": {"URL": with_query_defaults(REDIS_URL, REDIS_TIMEOUTS)}}
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
elif TASKS_BACKEND == "immediate":
    TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- Files --------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(read_str("MEDIA_ROOT", str(BASE_DIR / "media")))
IMAGE_URL_TTL_SECONDS = read_int("IMAGE_URL_TTL_SECONDS", 3600, minimum=60)

AWS_STORAGE_BUCKET_NAME = read_optional("AWS_STORAGE_BUCKET_NAME")
_default_storage: dict[str, object] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": MEDIA_ROOT},
}
if AWS_STORAGE_BUCKET_NAME:
    from botocore.config import Config  # 0.1 s of imports that local storage never needs

    _addressing_style = read_choice("AWS_S3_ADDRESSING_STYLE", "path", ("path", "virtual"))
    _default_storage = {
        "BACKEND": "lib.s3.PublicLinkS3Storage",
        "OPTIONS": {
            "public_endpoint_url": read_optional("AWS_S3_PUBLIC_ENDPOINT_URL"),
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": read_optional("AWS_S3_ENDPOINT_URL"),
            "region_name": read_optional("AWS_S3_REGION_NAME"),
            "access_key": read_optional("AWS_ACCESS_KEY_ID"),
            "secret_key": read_optional("AWS_SECRET_ACCESS_KEY"),
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": IMAGE_URL_TTL_SECONDS,
            "file_overwrite": False,
            # Bounded waits (botocore's defaults: 60 s each, up to 5 tries): a stalled bucket
            # turns into an error, not a hung worker. A client_config carries the addressing style.
            "client_config": Config(
                s3={"addressing_style": _addressing_style},
                connect_timeout=5,
                read_timeout=30,
                retries={"mode": "standard", "max_attempts": 3},
            ),
        },
    }
# Presigned image URLs point at the S3 endpoint: the Content-Security-Policy must allow it.
_storage_origins: list[str] = []
if AWS_STORAGE_BUCKET_NAME:
    _endpoint = read_optional("AWS_S3_PUBLIC_ENDPOINT_URL") or read_optional("AWS_S3_ENDPOINT_URL")
    _storage_origins = (
        [f"{urlsplit(_endpoint).scheme}://{urlsplit(_endpoint).netloc}"]
        if _endpoint
        else ["https://*.amazonaws.com"]
    )
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Orders and photos (training/orders.py, training/photos/) ----------------------------------
TUNE_TYPE = read_choice("TUNE_TYPE", "replicate", ("replicate",))
PHOTOS_MIN = read_int("PHOTOS_MIN", 4, minimum=1)
PHOTOS_MAX = read_int("PHOTOS_MAX", 20, minimum=1)
PHOTO_MAX_MB = read_int("PHOTO_MAX_MB", 20, minimum=1)
PHOTOS_TOTAL_MAX_MB = read_int("PHOTOS_TOTAL_MAX_MB", 100, minimum=1)
# Pixels decoding one order's photos may make, read from their headers before any is decoded
# (JPEGs count at their shrink-on-load size): a few KB of PNG can declare 49 megapixels.
PHOTOS_TOTAL_MAX_MEGAPIXELS = read_int("PHOTOS_TOTAL_MAX_MEGAPIXELS", 400, minimum=1)
PHOTO_MIN_SIDE = read_int("PHOTO_MIN_SIDE", 512, minimum=64)
TRAINING_IMAGE_SIDE = read_int("TRAINING_IMAGE_SIDE", 1536, minimum=256)
MAX_ZIP_MB = read_int("MAX_ZIP_MB", 100, minimum=1)
# How long an upload URL of the API (`POST /api/uploads`) accepts its one PUT.
UPLOAD_URL_TTL_SECONDS = read_int("UPLOAD_URL_TTL_SECONDS", 900, minimum=60)
PHOTO_WORKERS = read_int("PHOTO_WORKERS", 3, minimum=1)
# Face analysis (lib/faces.py): each accepted photo's face is described, a photo of someone else
# than the rest of the set is refused (training/photos/one_person.py), and the descriptors are
# kept on the order to score the results. Off: no descriptor is made or kept; dlib still checks
# that each photo shows one face.
FACE_ANALYSIS_ENABLED = read_bool("FACE_ANALYSIS_ENABLED", True)
# dlib holds the GIL while it works: its descriptor runs in one child process per app process
# (lib/face_process.py) so that the photo threads go on meanwhile. false: in the calling thread.
FACE_PROCESS = read_bool("FACE_PROCESS", True)
# The largest distance between two face descriptors still taken for the same person. dlib's own
# 0.6; docs/operations.md ("Face analysis") says how it was checked on our photos.
LIKENESS_THRESHOLD = read_float("LIKENESS_THRESHOLD", 0.6, minimum=0.1, maximum=2.0)
CLAMD_URL = read_optional("CLAMD_URL")
if CLAMD_URL and not CLAMD_URL.startswith(("unix://", "tcp://")):
    raise SettingsError(f"CLAMD_URL={CLAMD_URL!r} must start with unix:// or tcp://.")
TRAINING_CREDIT_COST = read_int("TRAINING_CREDIT_COST", 0)
SIGNUP_CREDITS = read_int("SIGNUP_CREDITS", 0)
# Uploads always stream to temporary files in their own folder (never into memory), so a large
# order cannot exhaust a web worker and `cleanup_temp_files` knows where stale ones lie.
FILE_UPLOAD_HANDLERS = ["lib.uploads.TemporaryFolderUploadHandler"]
FILE_UPLOAD_TEMP_DIR = read_str(
    "FILE_UPLOAD_TEMP_DIR", str(Path(tempfile.gettempdir()) / "headshots-uploads")
)
# Made at start-up by HeadshotsConfig.ready() (lib.uploads.upload_temp_folder), not here.
# A whole order's request body: every photo at its cap, plus room for the form fields.
UPLOAD_MAX_BYTES = PHOTOS_TOTAL_MAX_MB * 1024 * 1024 + 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = PHOTOS_MAX + 5

# --- Replicate (training/replicate/; the emulator is replicate_emulator/) -----------------------
# Without a token the app talks to the built-in emulator (`manage.py replicate_emulator`).
REPLICATE_API_TOKEN = read_optional("REPLICATE_API_TOKEN")
REPLICATE_EMULATOR_PORT = read_int("REPLICATE_EMULATOR_PORT", 8787, minimum=1)
# The share of the emulator's outputs that show someone else's face or none, so the likeness gate
# has something to hide (0: every output shows the person).
REPLICATE_EMULATOR_WRONG_FACE_SHARE = read_float(
    "REPLICATE_EMULATOR_WRONG_FACE_SHARE", 0.125, minimum=0.0, maximum=1.0
)
REPLICATE_USES_EMULATOR = REPLICATE_API_TOKEN is None
_replicate_default_url = (
    f"http://127.0.0.1:{REPLICATE_EMULATOR_PORT}/v1"
    if REPLICATE_USES_EMULATOR
    else "https://api.replicate.com/v1"
)
REPLICATE_BASE_URL = read_url(
    "REPLICATE_BASE_URL", _replicate_default_url, schemes=("http", "https")
)
if REPLICATE_USES_EMULATOR:
    REPLICATE_API_TOKEN = "emulator-token"  # noqa: S105 - the emulator's fixed, public token
# The emulator is a development and test tool: installed (for `manage.py replicate_emulator`) only
# when it stands in for Replicate, and only where it exists (the Docker image leaves it out).
if REPLICATE_USES_EMULATOR and importlib.util.find_spec("replicate_emulator"):
    INSTALLED_APPS += ["replicate_emulator"]
REPLICATE_OWNER = read_str("REPLICATE_OWNER", "headshots")
REPLICATE_WEBHOOK_SECRET = read_optional("REPLICATE_WEBHOOK_SECRET")
# The longest silence any one call to Replicate waits for (connecting, sending, each read).
REPLICATE_TIMEOUT_SECONDS = read_float("REPLICATE_TIMEOUT_SECONDS", 30.0, minimum=1.0)
# The only hosts output images are downloaded from (https; `*.` for subdomains); the emulator's
# own address is added when it is in use (training/outputs.py).
REPLICATE_OUTPUT_HOSTS = [
    host.lower()
    for host in read_list("REPLICATE_OUTPUT_HOSTS", ["replicate.delivery", "*.replicate.delivery"])
]
REPLICATE_TRAINER = "ostris/flux-dev-lora-trainer"
REPLICATE_TRAINER_VERSION = read_str(
    "REPLICATE_TRAINER_VERSION", "e440909d3512c31646ee2e0c7d6f6f4923224863a6a10c494606e79fb5844497"
)
# Replicate's published ranges for these inputs (shared/replicate/trainer-inputs.md): a value
# outside them stops start-up here instead of failing every order with a 422.
TRAINING_STEPS = read_int("TRAINING_STEPS", 1000, minimum=3, maximum=6000)
TRAINING_LORA_RANK = read_int("TRAINING_LORA_RANK", 16, minimum=1, maximum=128)
TRAINING_LEARNING_RATE = read_float("TRAINING_LEARNING_RATE", 0.0004)
# The styles every order gets (slugs of training/styles.py; unset: all of the package's), and
# the images of each: one prediction per style, and 4 is Replicate's most per prediction.
# HEADSHOTS_PER_PROMPT is the name this setting had before styles; it is still read.
ORDER_STYLES = read_list("ORDER_STYLES", [])
HEADSHOTS_PER_STYLE = read_int(
    "HEADSHOTS_PER_STYLE",
    read_int("HEADSHOTS_PER_PROMPT", 4, minimum=1, maximum=4),
    minimum=1,
    maximum=4,
)
# What the landing page says an order takes until enough orders were delivered to measure it
# (training/showcase.py): a 1000-step training on Replicate plus the headshots, in minutes.
TYPICAL_ORDER_MINUTES = read_int("TYPICAL_ORDER_MINUTES", 30, minimum=1)
# Predictions are created by this many threads at once, never more than this many in any
# minute (Replicate allows 600 prediction creates a minute per account; lower it when other
# apps share the account).
PREDICTION_CREATE_THREADS = read_int("PREDICTION_CREATE_THREADS", 4, minimum=1, maximum=16)
PREDICTION_CREATES_PER_MINUTE = read_int(
    "PREDICTION_CREATES_PER_MINUTE", 600, minimum=60, maximum=600
)
HEADSHOT_ASPECT_RATIO = read_choice("HEADSHOT_ASPECT_RATIO", "1:1", ("1:1", "4:5", "3:4", "2:3"))
HEADSHOT_OUTPUT_FORMAT = read_choice("HEADSHOT_OUTPUT_FORMAT", "png", ("webp", "jpg", "png"))
HEADSHOT_OUTPUT_QUALITY = read_int("HEADSHOT_OUTPUT_QUALITY", 90, minimum=1, maximum=100)
# Replicate bills by the second: gpu-h100 costs $0.001525/s (cost = predict_time * price).
REPLICATE_PRICE_PER_SECOND = read_float("REPLICATE_PRICE_PER_SECOND", 0.001525)
TEMP_RETENTION_HOURS = read_int("TEMP_RETENTION_HOURS", 24, minimum=1)
SYNC_AFTER_MINUTES = read_int("SYNC_AFTER_MINUTES", 10, minimum=1)
STUCK_AFTER_HOURS = read_int("STUCK_AFTER_HOURS", 6, minimum=1)
# The worker asks Replicate about an order in progress itself (training/polling.py): first this
# long after submitting, then twice as long each time up to the maximum, so that a lost webhook
# costs at most REPLICATE_POLL_MAX_SECONDS, not SYNC_AFTER_MINUTES plus cron's 5 minutes.
REPLICATE_POLL_SECONDS = read_int("REPLICATE_POLL_SECONDS", 30, minimum=1)
REPLICATE_POLL_MAX_SECONDS = read_int(
    "REPLICATE_POLL_MAX_SECONDS", max(120, REPLICATE_POLL_SECONDS), minimum=REPLICATE_POLL_SECONDS
)
# While an order trains, the poll comes at least this often: it also stores the training's
# progress, which the order page shows (a page never asks Replicate itself).
REPLICATE_PROGRESS_SECONDS = read_int("REPLICATE_PROGRESS_SECONDS", 10, minimum=1)

# --- Payments (payments/; the emulator is stripe_emulator/) ------------------------------------
# Credit packs on sale (payments/packs.py says why they are settings): a JSON list, e.g.
# [{"slug": "one", "name_es": "1 sesión", "name_en": "1 session", "credits": 1,
#   "price_cents": 1900, "currency": "eur"}]. None: credits stay free to get, as before.
try:
    CREDIT_PACKS = parse_packs(read_str("CREDIT_PACKS", ""))
except ValueError as _error:
    raise SettingsError(f"CREDIT_PACKS {_error}.") from None
STRIPE_SECRET_KEY = read_optional("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = read_optional("STRIPE_WEBHOOK_SECRET")
STRIPE_EMULATOR_PORT = read_int("STRIPE_EMULATOR_PORT", 8788, minimum=1)
# Only a development machine (DEBUG) ever stands the emulator in for Stripe: production without
# a key sells nothing, and production with packs but no key or webhook secret does not start.
STRIPE_USES_EMULATOR = STRIPE_SECRET_KEY is None and DEBUG
if CREDIT_PACKS and not DEBUG and not (STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET):
    raise SettingsError(
        "CREDIT_PACKS are on sale but STRIPE_SECRET_KEY or STRIPE_WEBHOOK_SECRET is not set."
    )
STRIPE_API_BASE = read_url(
    "STRIPE_API_BASE",
    f"http://127.0.0.1:{STRIPE_EMULATOR_PORT}"
    if STRIPE_USES_EMULATOR
    else "https://api.stripe.com",
    schemes=("http", "https"),
).rstrip("/")
if STRIPE_USES_EMULATOR:  # the emulator's fixed, public key and secret (stripe_emulator/server.py)
    STRIPE_SECRET_KEY = "sk_test_emulator"  # noqa: S105
    STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET or "whsec_emulator_local_only"
PAYMENTS_ENABLED = bool(CREDIT_PACKS and STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET)
# The longest wait for one call to Stripe; a failed call is retried once (same idempotency key).
STRIPE_TIMEOUT_SECONDS = read_float("STRIPE_TIMEOUT_SECONDS", 15.0, minimum=1.0)
# Events older than this (their signed timestamp) are refused: a captured one cannot be replayed.
STRIPE_WEBHOOK_TOLERANCE_SECONDS = read_int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300, minimum=30)
_checkout_origins = ["https://checkout.stripe.com"]
if urlsplit(STRIPE_API_BASE).hostname != "api.stripe.com":  # the emulator serves its own page
    _checkout_origins.append(
        f"{urlsplit(STRIPE_API_BASE).scheme}://{urlsplit(STRIPE_API_BASE).netloc}"
    )
if STRIPE_USES_EMULATOR and importlib.util.find_spec("stripe_emulator"):
    INSTALLED_APPS += ["stripe_emulator"]

# --- E-mail (Django 6.1 MAILERS; anymail when a provider key is set) ----------------------
DEFAULT_FROM_EMAIL = read_str("DEFAULT_FROM_EMAIL", "Headshots <hola@headshots.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
_resend_key = read_optional("RESEND_API_KEY")
_postmark_token = read_optional("POSTMARK_SERVER_TOKEN")
_email_url = read_optional("EMAIL_URL")
ANYMAIL: dict[str, str] = {}
MAILERS: dict[str, dict[str, Any]]
if _resend_key:
    ANYMAIL["RESEND_API_KEY"] = _resend_key
    MAILERS = {"default": {"BACKEND": "anymail.backends.resend.EmailBackend"}}
elif _postmark_token:
    ANYMAIL["POSTMARK_SERVER_TOKEN"] = _postmark_token
    MAILERS = {"default": {"BACKEND": "anymail.backends.postmark.EmailBackend"}}
elif _email_url:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {**read_email_url("EMAIL_URL", _email_url), "timeout": 30},
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "lib.console_mail.EmailBackend"}}  # decoded, readable

# --- Privacy (privacy/: the privacy page, retention, export, erasure) -----------------------
# Who runs the site, for the privacy page and the e-mails: the operator must fill these in.
PRIVACY_OPERATOR_NAME = read_str("PRIVACY_OPERATOR_NAME", "Headshots")
PRIVACY_CONTACT_EMAIL = read_str("PRIVACY_CONTACT_EMAIL", "privacidad@headshots.local")
PRIVACY_OPERATOR_ADDRESS = read_str("PRIVACY_OPERATOR_ADDRESS", "")
# The processors the privacy page names; the defaults follow the storage and mail settings.
PRIVACY_STORAGE_PROVIDER = read_str(
    "PRIVACY_STORAGE_PROVIDER",
    "S3-compatible object storage" if AWS_STORAGE_BUCKET_NAME else "this site's own server",
)
PRIVACY_EMAIL_PROVIDER = read_str(
    "PRIVACY_EMAIL_PROVIDER",
    "Resend"
    if _resend_key
    else "Postmark"
    if _postmark_token
    else "an SMTP server"
    if _email_url
    else "this site's own server",
)
# Face descriptors are deleted when an order is delivered or fails; up to 30 days for re-scoring.
FACE_DATA_RETENTION_DAYS = read_int("FACE_DATA_RETENTION_DAYS", 0, minimum=0, maximum=30)
# Headshots are deleted this long after delivery ("keep them" extends once by as much), with a
# reminder e-mail HEADSHOT_REMINDER_DAYS before.
HEADSHOT_RETENTION_DAYS = read_int("HEADSHOT_RETENTION_DAYS", 90, minimum=1)
HEADSHOT_REMINDER_DAYS = read_int("HEADSHOT_REMINDER_DAYS", 7, minimum=1)
# A data export's ZIP can be downloaded this long, then it is deleted.
DATA_EXPORT_TTL_HOURS = read_int("DATA_EXPORT_TTL_HOURS", 48, minimum=1)
# An account made by asking for a sign-in code whose code was never entered (the address never
# confirmed, nothing bought or ordered) is deleted this many days later.
UNCONFIRMED_ACCOUNT_DAYS = read_int("UNCONFIRMED_ACCOUNT_DAYS", 2, minimum=1, maximum=30)

# --- Sign-in (django-allauth: e-mailed code, optional password, optional Google) ----------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_request_login_code"
LOGIN_REDIRECT_URL = "training:studio"
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
# "Entrar" with an unknown address signs the person up and mails the same code
# (accounts/sign_in.py).
ACCOUNT_FORMS = {"request_login_code": "accounts.sign_in.SignInForm"}
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = read_int("LOGIN_CODE_TIMEOUT_SECONDS", 600, minimum=60)
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "request_login_code": "20/m/ip,3/m/key",
    "confirm_email": "1/3m/key",
    "signup": "20/m/ip",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "Headshots · "
GOOGLE_CLIENT_ID = read_optional("GOOGLE_CLIENT_ID")
GOOGLE_CLIENT_SECRET = read_optional("GOOGLE_CLIENT_SECRET")
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {}
if GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET:
    SOCIALACCOUNT_PROVIDERS["google"] = {
        "APPS": [{"client_id": GOOGLE_CLIENT_ID, "secret": GOOGLE_CLIENT_SECRET}],
        "SCOPE": ["email", "profile"],
        "EMAIL_AUTHENTICATION": True,
    }
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True

# --- Languages: Spanish first, English second ---------------------------------------------
LANGUAGE_CODE = "es"
LANGUAGES = [("es", "Español"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = read_str("TIME_ZONE", "Europe/Madrid")
USE_TZ = True

# --- Security -----------------------------------------------------------------------------
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = read_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers probe over plain HTTP; the health check must not answer with a redirect.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = read_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = read_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if read_bool("TRUST_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "blob:", *_storage_origins],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    # The buy button's answer redirects to Stripe's checkout page (or the emulator's).
    "form-action": [CSP.SELF, "https://accounts.google.com", *_checkout_origins],
    "frame-ancestors": [CSP.NONE],
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Monitoring ---------------------------------------------------------------------------
# `/metrics` (Prometheus) answers only with `Authorization: Bearer METRICS_TOKEN`; off when unset.
METRICS_TOKEN = read_optional("METRICS_TOKEN")
# `/healthz` answers anyone: each part's answer is reused this long, so a flood of probes costs
# one database query, cache round trip and storage HEAD per window (headshots/health.py).
HEALTHZ_CACHE_SECONDS = read_int("HEALTHZ_CACHE_SECONDS", 10)

# --- Logging ------------------------------------------------------------------------------
# JSON lines in production (one object per line, with order, stage, duration), text locally.
LOG_FORMAT = read_choice("LOG_FORMAT", "text" if DEBUG else "json", ("text", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "headshots.logs.RedactSecrets"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "headshots.logs.JsonLines"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": read_str("LOG_LEVEL", "INFO").upper()},
    # runserver's request lines, through the redacting handler (upload URLs carry `?t=...`).
    "loggers": {"django.server": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}
