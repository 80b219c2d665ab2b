"""Settings, read from the environment only (see README "Configuration").

With nothing set the service runs embedded: SQLite and a file-based Celery broker under
var/, a file cache, DEBUG off. `make run` turns DEBUG on for local use.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from eqms_integration.env import (
    cache_config,
    database_config,
    env_bool,
    env_int,
    env_list,
    env_networks,
    env_str,
)

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
    "quality",
    "apikeys",
    "webhooks",
    "sync",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "eqms_integration.middleware.DependencyOutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apikeys.middleware.APIKeyExpiryHeaderMiddleware",
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
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
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
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "eqms_integration.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DATETIME_FORMAT": "iso-8601",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "E-QMS Integration Layer API",
    "DESCRIPTION": "REST API for external systems (ERP, MES, WMS, CRM, PLM) and administrators.",
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
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
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
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces Django's own console handler, so each record is printed once.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}

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
# celery-beat period of the run sweeper; a retry due before the next sweep is queued to start
# at its due time.
SYNC_SWEEP_INTERVAL_SECONDS = env_int("SYNC_SWEEP_INTERVAL_SECONDS", 60, minimum=1)
CELERY_BEAT_SCHEDULE["sync-sweep-runs"] = {
    "task": "sync.sweep_runs",
    "schedule": float(SYNC_SWEEP_INTERVAL_SECONDS),
}
