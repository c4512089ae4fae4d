"""Clickmeter settings, read from the environment (and a `.env` file; see `.env.example` and the README)."""

import hashlib
import hmac
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

from config.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# A `.env` file in the project root fills in what the environment does not set (`make run` writes
# one with a random SECRET_KEY, so `manage.py` commands work in the same checkout). Empty: none.
ENV_FILE = env.str("CLICKMETER_ENV_FILE", default=str(BASE_DIR / ".env"))
if ENV_FILE:
    environ.Env.read_env(ENV_FILE)

# Local state of the embedded default: the SQLite database and the demo credentials.
VAR_DIR = Path(env.str("CLICKMETER_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key" if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "Set the SECRET_KEY environment variable, or put it in .env in the project root "
        "(`make run` writes one there for the embedded default)."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "apps.core.apps.ClickmeterAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "axes",
    "django_structlog",
    "apps.core",
    "apps.accounts",
    "apps.properties",
    "apps.keys",
    "apps.ingestion",
    "apps.reports",
    "apps.imports",
    "apps.privacy",
    "apps.demo",
]

MIDDLEWARE = [
    "apps.core.logs.RequestIdMiddleware",
    "apps.core.metrics.RequestMetricsMiddleware",
    "apps.core.middleware.NulCharacterMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]
# The ingest endpoint is served by a handler with only these (see config/wsgi.py): it carries no
# session, cookie or CSRF state, and every microsecond there is paid once per event batch.
INGEST_MIDDLEWARE = [
    "apps.core.logs.RequestIdMiddleware",
    "apps.core.middleware.NulCharacterMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
]

# CORS for ingest only, per property (apps/ingestion/cors.py): no origin is allowed globally. The
# beacon's endpoint, and the paths of the peer trackers (apps/ingestion/urls.py).
CORS_URLS_REGEX = r"^/(v1/events|api/(event|send|batch)|(e|i/v0/e|batch|capture|flags|decide)/?|array/.*)$"
CORS_ALLOWED_ORIGINS: list[str] = []
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_METHODS = ["GET", "POST", "OPTIONS"]
CORS_ALLOW_HEADERS = ["authorization", "content-type", "x-write-key", "x-umami-cache"]
CORS_EXPOSE_HEADERS = ["Retry-After"]
CORS_PREFLIGHT_MAX_AGE = 86400

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'clickmeter.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DATABASE_CONNECT_TIMEOUT", default=3)
    # JIT compiled every report query for 15-40 ms and gained nothing; with the default random page
    # cost (4, for spinning disks) the planner read whole rollup tables instead of a range's days
    # through their index, twice as slow (bench/dashboard --explain).
    DATABASES["default"]["OPTIONS"]["options"] = env.str(
        "DATABASE_SESSION_OPTIONS", default="-c jit=off -c random_page_cost=1.1"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# Who holds which role in which organisation: the tenancy of apps/core/tenancy.py.
CLICKMETER_MEMBERSHIP_MODEL = "accounts.Membership"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3 * 3600)

# Lockout (django-axes): 5 failed logins for one account from one address lock that pair out for
# 15 minutes, on the UI, the admin and the token endpoint alike. Attempts are counted in the cache
# under a hash, and the address axes sees is itself a keyed hash: no raw IP is stored or logged.
AXES_FAILURE_LIMIT = env.int("CLICKMETER_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("CLICKMETER_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_CLIENT_IP_CALLABLE = "apps.core.http.client_address"
AXES_USERNAME_CALLABLE = "apps.core.lockout.client_username"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "apps.core.lockout.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["password", "password1", "password2", "new_password1", "new_password2"]

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND", default=f"django.core.mail.backends.{'console' if DEBUG else 'smtp'}.EmailBackend"
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
# Seconds before an unanswering mail server counts as a failed attempt (tasks retry; nothing waits forever).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Clickmeter <clickmeter@localhost>")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Server-side: a new key's secret is shown once as a message, and must not travel in a cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Uploads (imports' files until they are loaded); web and workers must share it (or a storage
# such as S3 via django-storages, set in STORAGES["default"]).
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# In production, collectstatic (the Procfile's release step) writes each file under a name with its
# content's hash, which WhiteNoise serves cached forever, gzipped and brotli-compressed beside it.
# Under DEBUG the files are served as they are in static/, so an edit shows without a collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Source maps (12 MB of the API docs' bundles) are read by developer tools alone: compressing them
# would be half of collectstatic's time.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map")
# Files served at the site's root by WhiteNoise: /favicon.ico, which browsers ask for on every page.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"

# --- Redis: Celery broker, ingest buffer, cache --------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=1.0)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_timeout": REDIS_SOCKET_TIMEOUT, "socket_connect_timeout": REDIS_SOCKET_TIMEOUT},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Failed-login counts, request budgets and, without Redis, ingest rate limits must be shared by
# every process: Redis, or a table (`createcachetable`). The table holds one row per address and
# window; past the default 300 rows Django would cull live counts, and every lockout with them.
CACHES["lockout"] = (
    CACHES["default"]
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "clickmeter_lockout_cache",
        "OPTIONS": {"MAX_ENTRIES": 20_000},
    }
)
AXES_CACHE = "lockout"

# --- Celery: no accepted task may be dropped (asserted by tests/test_celery_config.py) ------------
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = env.bool("CLICKMETER_TASKS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_TASK_TIME_LIMIT = 120
# A message not acknowledged within this many seconds is redelivered: it must exceed the hard time
# limit, or a task still running would be handed to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 300,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
}
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_SOCKET_TIMEOUT
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.2}
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# The periodic jobs, run by `celery beat` in every deployment. With Redis it sends them to the
# workers; without (tasks in-process: the embedded default) it runs each job itself, one at a time.
CELERY_BEAT_SCHEDULE = {
    "ingest-buffer-drain": {"task": "apps.ingestion.tasks.ingest_buffer_drain", "schedule": 10.0},
    "rollup-refresh-dirty-days": {"task": "apps.reports.tasks.rollup_refresh_dirty_days", "schedule": 60.0},
    "daily-salts-destroy": {"task": "apps.ingestion.tasks.daily_salts_destroy", "schedule": 3600.0},
    "dropped-events-flush": {"task": "apps.ingestion.tasks.dropped_events_flush", "schedule": 60.0},
    "retention-enforce": {"task": "apps.reports.tasks.retention_enforce", "schedule": 6 * 3600.0},
    "expired-refresh-tokens-purge": {
        "task": "apps.accounts.tasks.expired_refresh_tokens_purge",
        "schedule": 24 * 3600.0,
    },
}
if not REDIS_URL:
    # Nothing is buffered or counted in Redis: events and dropped-event counts go straight to the
    # database, so there is nothing to drain or flush.
    del CELERY_BEAT_SCHEDULE["ingest-buffer-drain"], CELERY_BEAT_SCHEDULE["dropped-events-flush"]
# Seconds between runs, per job: CLICKMETER_SCHEDULE="daily-salts-destroy=60,retention-enforce=600".
for _job, _seconds in env.dict("CLICKMETER_SCHEDULE", default={}).items():
    if _job not in CELERY_BEAT_SCHEDULE or not _seconds.replace(".", "", 1).isdigit():
        _jobs = ", ".join(CELERY_BEAT_SCHEDULE)
        raise ImproperlyConfigured(f"CLICKMETER_SCHEDULE: {_job}={_seconds}? Give seconds for any of {_jobs}.")
    CELERY_BEAT_SCHEDULE[_job]["schedule"] = float(_seconds)

# --- Clickmeter --------------------------------------------------------------------------------------
# Entries of a killed worker are taken over by another after this long without an acknowledgement.
CLICKMETER_INGEST_CLAIM_IDLE_SECONDS = env.int("CLICKMETER_INGEST_CLAIM_IDLE_SECONDS", default=60)
CLICKMETER_INGEST_STREAM = env.str("CLICKMETER_INGEST_STREAM", default="clickmeter:ingest")
# A drain waits this long for more entries before it goes idle, so a steady flow needs no new task.
CLICKMETER_INGEST_DRAIN_IDLE_WAIT_MS = env.int("CLICKMETER_INGEST_DRAIN_IDLE_WAIT_MS", default=500)
# A dirty day's rollup is recomputed once no event has arrived for it for this long, or once it
# has been dirty for the second duration, whichever comes first; until then reports read raw.
CLICKMETER_ROLLUP_QUIET_SECONDS = env.int("CLICKMETER_ROLLUP_QUIET_SECONDS", default=30)
CLICKMETER_ROLLUP_MAX_STALENESS_SECONDS = env.int("CLICKMETER_ROLLUP_MAX_STALENESS_SECONDS", default=600)
# Requests per client address: sign-up and password-reset forms posted, and shared dashboard pages.
CLICKMETER_ANONYMOUS_FORM_RATE = env.str("CLICKMETER_ANONYMOUS_FORM_RATE", default="10/hour")
CLICKMETER_SHARED_LINK_RATE = env.str("CLICKMETER_SHARED_LINK_RATE", default="600/min")
CLICKMETER_REPORT_RATE = env.str("CLICKMETER_REPORT_RATE", default="600/min")
# Where raw events and rollups live (apps/reports/stores): "database", the database above, or
# "clickhouse", the ClickHouse named by CLICKHOUSE_URL (clickhouse://user:password@host:port/database,
# the native protocol's port), whose schema `manage.py event_store_migrate` creates.
CLICKMETER_EVENT_STORE = env.str("CLICKMETER_EVENT_STORE", default="database")
CLICKHOUSE_URL = env.str("CLICKHOUSE_URL", default="")
# A cluster that CLICKHOUSE_URL's server knows (its remote_servers): events sharded by property over
# its shards (docs/clickhouse.md). Empty: that one server.
CLICKHOUSE_CLUSTER = env.str("CLICKHOUSE_CLUSTER", default="")
# A drain stores up to this many buffered requests in one write, and after a short read lets more
# gather this long: ClickHouse wants thousands of rows per insert, each insert a part it merges
# later (docs/benchmarks.md, "Ingest end to end into ClickHouse").
_CLICKHOUSE = CLICKMETER_EVENT_STORE == "clickhouse"
CLICKMETER_INGEST_DRAIN_READ_COUNT = env.int("CLICKMETER_INGEST_DRAIN_READ_COUNT", default=1000 if _CLICKHOUSE else 100)
CLICKMETER_INGEST_DRAIN_GATHER_MS = env.int("CLICKMETER_INGEST_DRAIN_GATHER_MS", default=250 if _CLICKHOUSE else 50)
# How long a report's result is kept in the cache; it is read only while its data is unchanged. 0: off.
CLICKMETER_REPORT_CACHE_SECONDS = env.int("CLICKMETER_REPORT_CACHE_SECONDS", default=3600)
CLICKMETER_RETRY_AFTER_SECONDS = 5
# How many reverse proxies in front of the app append to X-Forwarded-For; 0 trusts no such header.
CLICKMETER_TRUSTED_PROXIES = env.int("CLICKMETER_TRUSTED_PROXIES", default=0)
# A MaxMind GeoIP2/GeoLite2 City database; empty: no country, region or city.
CLICKMETER_GEOIP_PATH = env.str("CLICKMETER_GEOIP_PATH", default="")
# Live streams of the realtime view (Server-Sent Events) each web process keeps open at once: each
# holds one of its threads (WEB_THREADS), so keep it below them.
CLICKMETER_LIVE_STREAMS_PER_PROCESS = env.int("CLICKMETER_LIVE_STREAMS_PER_PROCESS", default=2)
# Errors reported to Sentry (or any server that speaks its protocol) when set: the web process's
# and the workers' (the SDK's Django, Celery and Redis integrations), with no client address, cookie
# or credential, every text through the logs' redaction (config/log_redaction.py).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk

    from config.log_redaction import sentry_event_redacted

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        # Nothing about the person or the request beyond its method and path: no user, cookies,
        # headers, bodies, query strings, frame variables or SQL parameters.
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "off"}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "stack_frame_variables": False,
            "database_query_data": False,
        },
        before_send=sentry_event_redacted,
        traces_sample_rate=0.0,
    )
# The bearer token Prometheus scrapes /metrics with; without one the endpoint answers 404.
CLICKMETER_METRICS_TOKEN = env.str("CLICKMETER_METRICS_TOKEN", default="")

# A rotated key keeps working this long, so a deployment can switch to the new secret.
CLICKMETER_KEY_ROTATION_GRACE_HOURS = env.int("CLICKMETER_KEY_ROTATION_GRACE_HOURS", default=24)
CLICKMETER_INVITATION_DAYS = env.int("CLICKMETER_INVITATION_DAYS", default=7)

# --- DRF -------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["apps.core.api.OrjsonRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "apps.core.api.SingleRendererNegotiation",
    "DEFAULT_PARSER_CLASSES": ["apps.core.api.NestedJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "apps.core.openapi.AutoSchema",
}

# JWTs for programs: short-lived access tokens, refresh tokens rotated and the old one blacklisted,
# signed with a key of their own (not SECRET_KEY) and verified with HS256 only.
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    # Its own key: JWT_SIGNING_KEY when set (rotate it to log every program out), otherwise derived
    # from SECRET_KEY under a label of its own, so a token can never pass as a Django signature.
    "SIGNING_KEY": env.str(
        "JWT_SIGNING_KEY", default=hmac.new(SECRET_KEY.encode(), b"clickmeter.jwt", hashlib.sha256).hexdigest()
    ),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "CHECK_REVOKE_TOKEN": True,
    # Access tokens are checked against the blacklist, where signing out puts them (apps/accounts/tokens.py).
    "AUTH_TOKEN_CLASSES": ("apps.accounts.tokens.RevocableAccessToken",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Clickmeter API",
    "DESCRIPTION": "Ingest events with a write key; read reports with a read key, a member's JWT or session; "
    "manage organisations, properties and keys with a JWT.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ApiKeyStatusEnum": ["active", "expired", "revoked"],
        "ApiKeyKindEnum": "apps.keys.models.ApiKey.Kind",
        "GoalKindEnum": "apps.reports.models.Goal.KINDS",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.openapi.postprocess_text_without_nul",
    ],
}

# --- Security: `manage.py check --deploy` is clean with DEBUG off (tests/test_deploy_checks.py) ---
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Every page's scripts and styles are files of this server: no inline code, no `unsafe-inline`
# (tests/e2e/test_security_headers_browser.py loads each kind of page and watches for violations).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# No page needs a browser feature beyond the document: each is denied to it and to any frame.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "usb",
        "xr-spatial-tracking",
    )
}
# The CSRF cookie goes with requests from this site only. The session cookie is Lax, not the
# Strict the seeds ask for: Django's password reset keeps the link's token in the session across a
# redirect, which a Strict cookie misses when the link is opened from a mail
# (tests/e2e/test_reset_link_browser.py); Lax still keeps it off other sites' POSTs and subrequests.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Strict"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Structured logs with a request id (config/logs.py): JSON lines by default, `LOG_FORMAT=console`
# for people reading a terminal. No log line carries an IP address, a key or a token
# (config/log_redaction.py). Every logger writes through the one console handler and its
# formatter: Django's own handlers (its DEBUG console, mail to admins, runserver's) are removed,
# since they would bypass it.
LOGGING = logging_config(
    level=env.str("LOG_LEVEL", default="INFO"), format=env.str("LOG_FORMAT", default="console" if DEBUG else "json")
)
# A request id (apps/core/logs.py) follows each request into the tasks it queues (django-structlog's
# Celery receivers) and the batches it buffers; an id set by a proxy in front (`X-Request-ID`) is
# taken only when the operator says it can be trusted.
DJANGO_STRUCTLOG_CELERY_ENABLED = True
TRUST_UPSTREAM_REQUEST_ID = env.bool("TRUST_UPSTREAM_REQUEST_ID", default=False)
