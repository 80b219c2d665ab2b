"""Settings, read from the environment only (see README "Configuration").

With nothing set the service runs embedded: SQLite and a file-based Celery broker under
var/, a file cache, DEBUG off. `make run` turns DEBUG on for local use.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from eqms_integration.env import (
    cache_config,
    database_config,
    email_config,
    env_bool,
    env_emails,
    env_int,
    env_list,
    env_networks,
    env_str,
)
from eqms_integration.logconfig import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("EQMS_VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

# --- Core -------------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)

DEVELOPMENT_SECRET_KEY = "insecure-development-key-never-use-in-production-0123456789abcdef"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", "")
if not DEBUG:
    if (
        not SECRET_KEY
        or SECRET_KEY == DEVELOPMENT_SECRET_KEY
        or SECRET_KEY.startswith("django-insecure")
    ):
        raise ImproperlyConfigured(
            "SECRET_KEY is missing or is the development default, and DEBUG is off. "
            "Set SECRET_KEY to a long random value, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
        )
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            f"SECRET_KEY is {len(SECRET_KEY)} characters long; use at least 50 random characters."
        )
elif not SECRET_KEY:
    SECRET_KEY = DEVELOPMENT_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # Before django.contrib.auth: its createsuperuser and changepassword, audited.
    "eqms_integration.user_commands",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "eqms_integration",
    "audit",
    "quality",
    "apikeys",
    "webhooks",
    "sync",
    "operations",
]

MIDDLEWARE = [
    # First: every log line of a request carries its id, and every answer is counted.
    "eqms_integration.request_id.RequestIdMiddleware",
    "eqms_integration.metrics.HttpMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A database, cache or broker outage met below here is a 503 with Retry-After, logged once.
    "eqms_integration.middleware.DependencyOutageMiddleware",
    # Before everything that can write: the audit scope (channel, request id, client address).
    "audit.middleware.AuditContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apikeys.middleware.APIKeyExpiryHeaderMiddleware",
    "eqms_integration.api.middleware.QueryParameterGuardMiddleware",
    "eqms_integration.api.middleware.NoStoreAPIResponses",
]

ROOT_URLCONF = "eqms_integration.urls"
WSGI_APPLICATION = "eqms_integration.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Data -------------------------------------------------------------------------------------
DATABASES = {
    "default": database_config(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        sqlite_dir=VAR_DIR,
    )
}
# Connections are kept (and checked before reuse) instead of opened for every request and task:
# opening one was a quarter of a webhook delivery's time (bench/PROFILE.md).
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 300, minimum=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
CACHES = {
    "default": cache_config(
        cache_url=env_str("CACHE_URL", ""),
        redis_url=REDIS_URL,
        file_cache_dir=VAR_DIR / "cache",
    )
}

# Comma-separated Fernet keys; the first encrypts, all decrypt (rotation). See encryption.py.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", [])

# --- Auth, i18n, static -----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/admin/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
# ISO dates, times with seconds (eqms_integration/formats/en/formats.py).
FORMAT_MODULE_PATH = ["eqms_integration.formats"]

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security (check --deploy passes with DEBUG off) -----------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
if env_bool("USE_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # API keys first: a request that presents a key is judged by the key alone.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apikeys.authentication.APIKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["apikeys.throttling.APIKeyRateThrottle"],
    "DEFAULT_PERMISSION_CLASSES": ["eqms_integration.api.permissions.ActionPermission"],
    "DEFAULT_PAGINATION_CLASS": "eqms_integration.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "eqms_integration.api.filters.FilterBackend",
        "rest_framework.filters.SearchFilter",
        "eqms_integration.api.filters.OrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_PARSER_CLASSES": ["eqms_integration.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "eqms_integration.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "eqms_integration.api.schema.AutoSchema",
    "DATETIME_FORMAT": "iso-8601",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

from eqms_integration.api.overview import API_DESCRIPTION, API_TAGS  # noqa: E402 - plain texts

SPECTACULAR_SETTINGS = {
    "TITLE": "E-QMS Integration Layer API",
    "DESCRIPTION": API_DESCRIPTION,
    "TAGS": API_TAGS,
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a `status`; name each choice set after its model.
    "ENUM_NAME_OVERRIDES": {
        "NCRStatusEnum": "quality.models.NCR.Status",
        "CAPAStatusEnum": "quality.models.CAPA.Status",
        "EquipmentStatusEnum": "quality.models.Equipment.Status",
        "SupplierStatusEnum": "quality.models.Supplier.Status",
        "SyncRunStatusEnum": "sync.models.SyncRun.Status",
        "SyncConflictStatusEnum": "sync.models.SyncConflict.Status",
        "ConflictStrategyEnum": "sync.models.SyncConfiguration.ConflictStrategy",
        "WebhookDeliveryStatusEnum": "webhooks.models.WebhookDelivery.Status",
        # Two `state` fields (apikeys/api, webhooks/api CircuitSerializer): named apart.
        "APIKeyStateEnum": ["active", "revoked", "expired"],
        "CircuitStateEnum": ["closed", "open"],
    },
}

# --- API keys ---------------------------------------------------------------------------------
APIKEY_BCRYPT_ROUNDS = env_int("APIKEY_BCRYPT_ROUNDS", 10, minimum=4)
APIKEY_CACHE_TTL_SECONDS = env_int("APIKEY_CACHE_TTL_SECONDS", 60, minimum=0)
# Failure caps (apikeys/services/caps.py): the first two refuse (429), the last two slow down
# checks from addresses a key was never verified from; none locks a known client out.
APIKEY_MAX_FAILURES_PER_KEY_AND_IP = env_int("APIKEY_MAX_FAILURES_PER_KEY_AND_IP", 10, minimum=1)
APIKEY_MAX_FAILURES_PER_IP = env_int("APIKEY_MAX_FAILURES_PER_IP", 50, minimum=1)
APIKEY_MAX_FAILURES_PER_KEY = env_int("APIKEY_MAX_FAILURES_PER_KEY", 100, minimum=1)
APIKEY_MAX_FAILURES = env_int("APIKEY_MAX_FAILURES", 1000, minimum=1)
APIKEY_FAILURE_WINDOW_SECONDS = env_int("APIKEY_FAILURE_WINDOW_SECONDS", 300, minimum=1)
APIKEY_USAGE_FLUSH_SECONDS = env_int("APIKEY_USAGE_FLUSH_SECONDS", 60, minimum=5)
APIKEY_USAGE_PUSH_SECONDS = env_int("APIKEY_USAGE_PUSH_SECONDS", 5, minimum=1)
# Trusted reverse proxies in front of the service (X-Forwarded-For), for allowlists and logs.
API_NUM_PROXIES = env_int("API_NUM_PROXIES", 0, minimum=0)

# --- Celery -----------------------------------------------------------------------------------
_celery_dir = VAR_DIR / "celery"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "") or REDIS_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # A broker that needs no server: messages are files under var/celery/ shared by the
    # web server, the worker and beat on this machine.
    for sub in ("queue", "processed", "control"):
        (_celery_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        "control_folder": str(_celery_dir / "control"),  # broadcast (remote control) exchange
        "store_processed": False,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# django-celery-beat's DatabaseScheduler, recording beat's heartbeat as it ticks.
CELERY_BEAT_SCHEDULER = "operations.beat:HeartbeatScheduler"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Webhook deliveries have a queue of their own, so that they can be served by a worker built
# for waiting on receivers (README "Webhooks": `-Q webhooks --pool threads`) and so that a long
# sync run never holds them up. A worker started without -Q consumes both queues.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (
    Queue("celery", routing_key="celery"),
    Queue("webhooks", routing_key="webhooks"),
)
CELERY_TASK_ROUTES = {
    name: {"queue": "webhooks"}
    for name in (
        "webhooks.tasks.deliver_webhooks",
        "webhooks.tasks.deliver_webhook",
        "webhooks.tasks.enqueue_webhook_deliveries",
    )
}
# On a lost broker connection let running tasks finish and record their outcome (their
# messages come back later and find the work done) rather than cancel them mid-request.
# (Celery 6 will default to cancelling; eqms_integration/celery.py silences its notice.)
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Periodic tasks; django-celery-beat's DatabaseScheduler copies them into its tables.
CELERY_BEAT_SCHEDULE = {
    "apikeys-flush-usage": {
        "task": "apikeys.flush_usage",
        "schedule": float(APIKEY_USAGE_FLUSH_SECONDS),
    },
}

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {LOG_LEVEL!r}."
    )
LOG_FORMAT = env_str("LOG_FORMAT", "plain").lower()
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
# eqms_integration/logconfig.py: no secret in any log. Celery's worker and beat use it too.
LOGGING = logging_config(LOG_LEVEL, LOG_FORMAT)

# --- Probes -----------------------------------------------------------------------------------
READINESS_TIMEOUT_SECONDS = env_int("READINESS_TIMEOUT_SECONDS", 3, minimum=1)

# --- Webhooks ---------------------------------------------------------------------------------
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env_int("WEBHOOK_CONNECT_TIMEOUT_SECONDS", 5, minimum=1)
WEBHOOK_READ_TIMEOUT_SECONDS = env_int("WEBHOOK_READ_TIMEOUT_SECONDS", 15, minimum=1)
# Bytes of a receiver's answer read at most (the log keeps the first 5,000 characters).
WEBHOOK_MAX_RESPONSE_BYTES = env_int("WEBHOOK_MAX_RESPONSE_BYTES", 65536, minimum=1024)
WEBHOOK_MAX_CONSECUTIVE_FAILURES = env_int("WEBHOOK_MAX_CONSECUTIVE_FAILURES", 50, minimum=1)
WEBHOOK_DISABLE_AFTER_FAILING_DAYS = env_int("WEBHOOK_DISABLE_AFTER_FAILING_DAYS", 5, minimum=1)
# On-premise receivers: CIDRs and host names (".example.com" includes subdomains) the SSRF
# guard lets through. The cloud metadata address stays blocked whatever is listed.
WEBHOOK_ALLOWED_NETWORKS = env_networks("WEBHOOK_ALLOWED_NETWORKS")
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS", [])
# A claimed delivery whose worker has not finished by then is claimed again by the sweeper.
WEBHOOK_LEASE_SECONDS = env_int("WEBHOOK_LEASE_SECONDS", 120, minimum=30)
# A due delivery already enqueued is enqueued again only after this long (its task was lost).
WEBHOOK_REQUEUE_AFTER_SECONDS = env_int("WEBHOOK_REQUEUE_AFTER_SECONDS", 60, minimum=1)
WEBHOOK_SWEEP_INTERVAL_SECONDS = env_int("WEBHOOK_SWEEP_INTERVAL_SECONDS", 10, minimum=1)
WEBHOOK_SWEEP_BATCH_SIZE = env_int("WEBHOOK_SWEEP_BATCH_SIZE", 1000, minimum=1)
# Circuit breaker: after this many failed attempts in a row a subscription's deliveries wait,
# and one probe is sent every WEBHOOK_CIRCUIT_PROBE_SECONDS until one succeeds.
WEBHOOK_CIRCUIT_FAILURES = env_int("WEBHOOK_CIRCUIT_FAILURES", 5, minimum=1)
WEBHOOK_CIRCUIT_PROBE_SECONDS = env_int("WEBHOOK_CIRCUIT_PROBE_SECONDS", 60, minimum=1)
# Deliveries one task claims, sends (side by side) and records together at most.
WEBHOOK_DELIVERY_BATCH_SIZE = env_int("WEBHOOK_DELIVERY_BATCH_SIZE", 50, minimum=1)
# In a request, publish the delivery messages after the response has been sent (not at commit).
WEBHOOK_PUBLISH_AFTER_RESPONSE = env_bool("WEBHOOK_PUBLISH_AFTER_RESPONSE", True)
WEBHOOK_TEST_RATE = env_str("WEBHOOK_TEST_RATE", "10/minute")

CELERY_BEAT_SCHEDULE["webhooks-sweep-deliveries"] = {
    "task": "webhooks.tasks.sweep_webhook_deliveries",
    "schedule": float(WEBHOOK_SWEEP_INTERVAL_SECONDS),
}

# --- Sync -------------------------------------------------------------------------------------
# Outbound reads of QMS rows stop this many seconds before the run started: a row saved just
# before may belong to a transaction not yet committed, and is read by the next run instead.
SYNC_LOCAL_SETTLE_SECONDS = env_int("SYNC_LOCAL_SETTLE_SECONDS", 2, minimum=0)
# A run in progress that has not finished a batch for this long lost its worker: the sweeper
# marks it failed (and retries it), and the next run resumes after its last committed batch.
SYNC_RUN_LEASE_SECONDS = env_int("SYNC_RUN_LEASE_SECONDS", 600, minimum=30)
# On-premise REST APIs: CIDRs and host names the SSRF guard lets REST connections (base URLs,
# token URLs, next links) reach; apart from the webhook allowlist. Metadata stays blocked.
SYNC_ALLOWED_NETWORKS = env_networks("SYNC_ALLOWED_NETWORKS")
SYNC_ALLOWED_HOSTS = env_list("SYNC_ALLOWED_HOSTS", [])
# Directories whose existing files SQLite connections may open; none: SQLite connections are
# refused. Files of the service itself (its database, anything under VAR_DIR) never are.
SYNC_SQLITE_DIRS = env_list("SYNC_SQLITE_DIRS", [])
# Audit events of the records sync runs write in bulk (bench/sync_throughput.py measures the
# trail's cost with it off; a regulated plant keeps it on, and `check` warns when it is off).
SYNC_AUDIT_RECORDS = env_bool("SYNC_AUDIT_RECORDS", True)

# --- Audit trail ------------------------------------------------------------------------------
# How often celery-beat chains new audit events (tamper evidence starts when an event is sealed).
AUDIT_SEAL_INTERVAL_SECONDS = env_int("AUDIT_SEAL_INTERVAL_SECONDS", 5, minimum=1)
# The sealer stops looking below events older than this; an event whose transaction stays open
# longer is never sealed and verify_audit_trail names it. Longer than any transaction + skew.
AUDIT_SEAL_LOOKBACK_SECONDS = env_int("AUDIT_SEAL_LOOKBACK_SECONDS", 600, minimum=60)

CELERY_BEAT_SCHEDULE["audit-seal-events"] = {
    "task": "audit.seal_events",
    "schedule": float(AUDIT_SEAL_INTERVAL_SECONDS),
    # A tick a busy worker could not take in time is dropped: the next one seals the same.
    # (django-celery-beat's name for the `expires` of each message.)
    "options": {"expire_seconds": AUDIT_SEAL_INTERVAL_SECONDS},
}

# --- Operations: liveness, alerts, metrics ---------------------------------------------------
# Workers and beat record a heartbeat this often; one older than HEARTBEAT_STALE_SECONDS means
# the process is gone (/readyz and the dashboard say so).
HEARTBEAT_INTERVAL_SECONDS = env_int("HEARTBEAT_INTERVAL_SECONDS", 15, minimum=1)
HEARTBEAT_STALE_SECONDS = env_int("HEARTBEAT_STALE_SECONDS", 120, minimum=10)
# Links in alerts point here (the address people open the admin at).
EQMS_BASE_URL = env_str("EQMS_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
ALERT_EMAILS = env_emails("ALERT_EMAILS")
APIKEY_EXPIRY_WARNING_DAYS = env_int("APIKEY_EXPIRY_WARNING_DAYS", 14, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "E-QMS Integration <eqms@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_SUBJECT_PREFIX = "[E-QMS] "
# smtp://user:password@host:587 (smtp+tls://, smtps://), consolemail://, filemail:///path.
globals().update(
    email_config(env_str("EMAIL_URL", "consolemail://" if DEBUG else "smtp://localhost:25"))
)
CELERY_BEAT_SCHEDULE["operations-sweep-alerts"] = {
    "task": "operations.sweep_alerts",
    "schedule": 60.0,
}
# GET /metrics answers only with this bearer token (404 when unset).
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# prometheus-client's multiprocess mode: every process of this machine (gunicorn workers,
# Celery workers) writes its samples here and /metrics adds them up. `serve` empties it at
# start; in production empty it before starting the processes (README "Metrics").
PROMETHEUS_MULTIPROC_DIR = Path(
    env_str("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "prometheus"))
).resolve()
PROMETHEUS_MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(PROMETHEUS_MULTIPROC_DIR)  # read on import

# celery-beat period of the run sweeper; a retry due before the next sweep is queued to start
# at its due time.
SYNC_SWEEP_INTERVAL_SECONDS = env_int("SYNC_SWEEP_INTERVAL_SECONDS", 60, minimum=1)
CELERY_BEAT_SCHEDULE["sync-sweep-runs"] = {
    "task": "sync.sweep_runs",
    "schedule": float(SYNC_SWEEP_INTERVAL_SECONDS),
}
