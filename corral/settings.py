"""Corral settings: one module, every value from a typed environment helper.

With no environment at all, a fresh clone runs in the embedded mode: SQLite
under var/, Celery on an in-process broker, an in-memory channel layer and
DEBUG on. Setting DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS and
DEBUG=0 gives the production mode (see README "Production").
"""

import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from corral.env import env_bool, env_choice, env_float, env_int, env_list, env_llm_servers, env_str
from corral.media_storage import media_storage

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CORRAL_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")

# The embedded default (no DATABASE_URL) is for one person on one machine.
DEBUG = env_bool("DEBUG", default=not DATABASE_URL)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set in the environment when DEBUG is off.")
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "channels",
    "django_celery_beat",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "accounts",
    "labeling",
    "generation",
    "quality",
    "exports",
    "api",
    # Last: the project package on top of the apps (the serve command).
    "corral",
]

MIDDLEWARE = [
    # First, so its duration covers the whole stack and every response carries the request id.
    "corral.logs.request_log_middleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Tells the audit trail who made each change saved through the ORM during a request (admin forms, inlines).
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Last, as axes asks: turns a log-in that it refused into the lockout page (AXES_LOCKOUT_CALLABLE).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "corral.urls"
# Threads per server process that run HTTP requests (granian's WSGI workers in production, corral/asgi.py in the
# embedded mode); with a pool, give it as many connections. Enough to overlap a request's database round trips, few
# enough to spare the GIL (README, Performance).
WEB_THREADS = env_int("WEB_THREADS", 3, minimum=1)
ASGI_APPLICATION = "corral.asgi.application"
WSGI_APPLICATION = "corral.wsgi.application"
# Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated addresses or networks, "*" for
# any): the HTTP and the websocket server both take the client's address from them, as uvicorn's option of this name.
FORWARDED_ALLOW_IPS = env_str("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Where pages open their websockets: empty for the page's own host (the proxy sends /ws/ to the websocket port),
# or an origin such as wss://live.example.com or ws://127.0.0.1:8001 when the websocket server is reached directly.
WEBSOCKET_ORIGIN = env_str("WEBSOCKET_ORIGIN").rstrip("/")
if WEBSOCKET_ORIGIN and not WEBSOCKET_ORIGIN.startswith(("ws://", "wss://")):
    raise ImproperlyConfigured(f"WEBSOCKET_ORIGIN must start with ws:// or wss://, got {WEBSOCKET_ORIGIN!r}")

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
                "labeling.context_processors.navigation",
            ],
        },
    },
]

if DATABASE_URL:
    # Under ASGI, sync views run on changing threads, so persistent per-thread
    # connections leak; Django's psycopg pool (DATABASE_POOL_SIZE > 0) reuses them safely.
    # Health checks make the pool test a connection before lending it (one empty round trip), so connections
    # broken by a database restart are replaced instead of failing the first requests after it is back.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=True)}
    _pool_size = env_int("DATABASE_POOL_SIZE", 0, minimum=0)
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        _options = DATABASES["default"].setdefault("OPTIONS", {})
        if _pool_size:
            _options["pool"] = {"min_size": 1, "max_size": _pool_size, "timeout": 10}
        # Parameters bound by the server, and each statement prepared on a connection the second time it runs
        # there: PostgreSQL then plans the vote's statements once per connection instead of once per vote, about
        # 60 % of its CPU per vote (README, Performance). Off behind a pooler in transaction mode (PgBouncer).
        if env_bool("DATABASE_PREPARED_STATEMENTS", True):
            _options.update(server_side_binding=True, prepare_threshold=2)
        # No JIT compilation: the queue's statements carry a correlated subquery per task, so the planner's cost
        # (for all tasks) passes jit_above_cost although the walk stops at the first task; compiling then took
        # 2.7 s for a 1 ms query at 1,000,000 votes (bench/scale.py). Short statements never gain from JIT.
        _options["options"] = "-c jit=off"
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "corral.sqlite3",
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so concurrent writers
                # wait for the busy timeout instead of failing with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
# Sessions are database rows; with Redis, read through a cache there (Django's cached_db engine), which spares every
# request a database statement. Logging out deletes both, which ends the session in every server process at once.
# The cache (django-redis) ignores a Redis outage: sessions are then read from the database (docs/operations.md).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db" if REDIS_URL else "django.contrib.sessions.backends.db"
# Single sign-on with OpenID Connect (accounts/sso.py), on when OIDC_ISSUER_URL is set: the provider's endpoints come
# from <issuer>/.well-known/openid-configuration. Register <site>/accounts/sso/callback/ as the redirect URI.
OIDC_ISSUER_URL = env_str("OIDC_ISSUER_URL")
SSO_ENABLED = bool(OIDC_ISSUER_URL)
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "single sign-on")  # the login page says "Log in with <this>"
OIDC_RP_CLIENT_ID = env_str("OIDC_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET")
if SSO_ENABLED and not (OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET):
    raise ImproperlyConfigured("OIDC_ISSUER_URL is set: OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must be set too.")
OIDC_RP_SIGN_ALGO = env_str("OIDC_SIGN_ALGORITHM", "RS256")
OIDC_RP_SCOPES = "openid email profile"
OIDC_USE_PKCE = True
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT_SECONDS", 10, minimum=1)
OIDC_AUTHENTICATION_CALLBACK_URL = "accounts-sso-callback"
OIDC_USERNAME_ALGO = "accounts.sso.username_for_claims"
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/"
# Local passwords keep working beside single sign-on unless this is off (then only single sign-on logs in).
PASSWORD_LOGIN_ENABLED = env_bool("PASSWORD_LOGIN", True)
if not (PASSWORD_LOGIN_ENABLED or SSO_ENABLED):
    raise ImproperlyConfigured(
        "PASSWORD_LOGIN is off and single sign-on (OIDC_ISSUER_URL) is not set: nobody could log in."
    )
# Django's ModelBackend, its users cached in Redis where there is one (accounts/backends.py).
ACCOUNT_LOGIN_BACKEND = "accounts.backends.CachedModelBackend"
# Axes first: it refuses a locked-out log-in before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    *([ACCOUNT_LOGIN_BACKEND] if PASSWORD_LOGIN_ENABLED else []),
    "accounts.sso.SsoBackend",  # does nothing unless SSO_ENABLED
]
LOGIN_URL = "accounts-login"
LOGIN_REDIRECT_URL = "labeling-dashboard"
LOGOUT_REDIRECT_URL = "accounts-login"
# Login throttling (django-axes, see accounts/lockout.py): this many failures in the window lock a username, or
# an address.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_FAILURE_LIMIT_PER_IP = env_int("LOGIN_FAILURE_LIMIT_PER_IP", 50, minimum=1)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60, minimum=1)
# Axes keeps failures in the database, so every process counts them and Redis is not needed.
AXES_HANDLER = "accounts.lockout.LoginLockoutHandler"  # a limit per parameter: LOGIN_FAILURE_LIMIT(_PER_IP)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_VERBOSE = False  # no banner on every manage.py command; lockouts are still logged
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT  # what axes' admin filter calls locked out
AXES_COOLOFF_TIME = "accounts.lockout.failure_window"
AXES_USERNAME_CALLABLE = "accounts.lockout.username_of"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "accounts.views.login_locked_out"
# The failure that reaches a limit still gets its own answer; the handler refuses the attempts after it.
AXES_LOCK_OUT_AT_FAILURE = False
# A refused attempt checked no password: it is not recorded, so it does not lengthen the lock.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Only failures are kept (and only for the window), not a row for every successful log-in.
AXES_DISABLE_ACCESS_LOG = True

# The audit trail (django-simple-history) is a record, not an undo button: the admin shows old versions but does
# not restore them.
SIMPLE_HISTORY_REVERT_DISABLED = True
# History is read per object (its id) or per task (its candidates), never across all objects by date: an index on
# the date would only slow every vote's insert.
SIMPLE_HISTORY_DATE_INDEX = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": media_storage(
        storage_url=env_str("MEDIA_STORAGE_URL"),
        bucket=env_str("AWS_STORAGE_BUCKET_NAME"),
        endpoint_url=env_str("AWS_S3_ENDPOINT_URL"),
        region=env_str("AWS_S3_REGION_NAME"),
        link_seconds=env_int("MEDIA_LINK_SECONDS", 300, minimum=1),
    ),
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Uploads: prompt batches are read in memory up to this size and refused above it.
PROMPT_IMPORT_MAX_BYTES = env_int("PROMPT_IMPORT_MAX_BYTES", 10 * 1024 * 1024, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = PROMPT_IMPORT_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
PROMPT_MAX_CHARS = env_int("PROMPT_MAX_CHARS", 2000, minimum=1)

# The work queue holds a task for the annotator it handed it to, so two people pressing
# "Next" together do not both take its last open slot; an abandoned hold lapses after this.
QUEUE_RESERVATION_SECONDS = env_int("QUEUE_RESERVATION_SECONDS", 300, minimum=1)

# REST API (api/, README "API"): tokens or a session; every refusal is JSON with a precise "detail".
API_REQUESTS_PER_MINUTE = env_int("API_REQUESTS_PER_MINUTE", 600, minimum=1)  # per token (per person with a session)
API_PAGE_SIZE = env_int("API_PAGE_SIZE", 100, minimum=1)
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 1000, minimum=1)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        # Browser use while logged in; DRF enforces CSRF on its writes.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated", "api.permissions.TokenScopeAllows"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PerTokenThrottle"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.SizeLimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Corral API",
    "DESCRIPTION": "Projects, prompt batches, tasks, judgements in the dataset's columns, and exports. "
    "Authenticate with an API token from your account page (Authorization: Bearer …) or a logged-in session.",
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated", "api.permissions.TokenScopeAllows"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from this site's static files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}
# The API's rate limit counts in this cache: Redis when configured, so every server process shares the counts.
_REDIS_CACHE = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "api"}
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "api-throttle": _REDIS_CACHE
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "api-throttle"},
}
# The caches in front of the database, less their Redis: the cached_db session engine's (SESSION_ENGINE) and the
# logged-in users' (accounts/backends.py, kept a minute). Short timeouts, and an unreachable Redis reads as a miss
# (logged) and a write there is skipped, so sessions and users come from the database instead of failing.
SESSION_REDIS_CACHE = {
    "BACKEND": "django_redis.cache.RedisCache",
    "KEY_PREFIX": "sessions",
    "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
}
USER_REDIS_CACHE = {**SESSION_REDIS_CACHE, "KEY_PREFIX": "users", "TIMEOUT": 60}
if REDIS_URL:
    CACHES["sessions"] = {**SESSION_REDIS_CACHE, "LOCATION": REDIS_URL}
    CACHES["users"] = {**USER_REDIS_CACHE, "LOCATION": REDIS_URL}
    SESSION_CACHE_ALIAS = "sessions"
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

# Security: production values unless DEBUG; each can be overridden behind a proxy.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("TRUST_X_FORWARDED_PROTO", False) else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Celery: Redis in production; the embedded mode runs broker, worker and beat
# inside the web process (see corral/embedded.py).
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The in-process broker is polled; kombu's default of once a second would delay every job by up to that.
CELERY_BROKER_TRANSPORT_OPTIONS = {} if REDIS_URL else {"polling_interval": 0.01}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
# liboxen locks the dataset repository for the life of the process that opened it, so exports have a queue of
# their own, consumed by exactly one single-process worker (embedded: the default worker, in the server).
CELERY_TASK_ROUTES = {
    "generation.tasks.generate_images": {"queue": "gpu"},
    "exports.tasks.export_to_oxen": {"queue": "exports"},
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = TIME_ZONE
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 30, minimum=1)
# How often the dashboard's project totals are counted again (in the background: see labeling.ProjectCounts).
PROJECT_COUNTS_SECONDS = env_int("PROJECT_COUNTS_SECONDS", 60, minimum=5)

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env_str("CHANNEL_LAYER_PREFIX", "corral")},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Image generation
SD_MODEL = env_str("SD_MODEL")
DEMO_MODEL_PATH = Path(env_str("DEMO_MODEL_PATH", str(VAR_DIR / "demo-model")))
GENERATION_MAX_QUEUED_PER_USER = env_int("GENERATION_MAX_QUEUED_PER_USER", 3, minimum=1)
GENERATION_MAX_PER_HOUR_PER_USER = env_int("GENERATION_MAX_PER_HOUR_PER_USER", 60, minimum=1)
# A job still running after this long is failed by the beat (its worker was killed or lost).
GENERATION_JOB_TIME_LIMIT_SECONDS = env_int("GENERATION_JOB_TIME_LIMIT_SECONDS", 30 * 60, minimum=60)

# LLM (any OpenAI-compatible server)
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL")
OPENAI_TIMEOUT_SECONDS = env_float("OPENAI_TIMEOUT_SECONDS", 60.0)
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-4o-mini")  # used when a project names no text_model
# More servers by name, for arenas that compare models served in different places (model@name); the server
# above (OPENAI_BASE_URL / OPENAI_API_KEY) stays the default for names without "@".
OPENAI_SERVERS = env_llm_servers("OPENAI_SERVERS")
# Transient LLM errors (429, 5xx, timeouts) are retried by the Celery task: base * 2**attempt seconds, capped.
LLM_MAX_RETRIES = env_int("LLM_MAX_RETRIES", 5, minimum=0)
LLM_RETRY_BASE_SECONDS = env_int("LLM_RETRY_BASE_SECONDS", 5, minimum=1)
LLM_RETRY_MAX_SECONDS = env_int("LLM_RETRY_MAX_SECONDS", 600, minimum=1)
# Answers one user may ask the LLM for in an hour (each answer is one call); a manager's batch is not held to it.
LLM_MAX_CALLS_PER_HOUR_PER_USER = env_int("LLM_MAX_CALLS_PER_HOUR_PER_USER", 120, minimum=1)
UNCERTAINTY_SPAN_TOKENS = env_int("UNCERTAINTY_SPAN_TOKENS", 4, minimum=1)
REVIEW_RESERVATION_SECONDS = env_int("REVIEW_RESERVATION_SECONDS", 600, minimum=10)

# Leaderboard and dashboard figures: computed by a worker and cached; a page showing figures older than this asks
# for fresh ones (and says how old those it shows are).
FIGURES_MAX_AGE_SECONDS = env_int("FIGURES_MAX_AGE_SECONDS", 300, minimum=0)
LEADERBOARD_BOOTSTRAP_ROUNDS = env_int("LEADERBOARD_BOOTSTRAP_ROUNDS", 1000, minimum=10)

# Oxen export
OXEN_REPO_PATH = Path(env_str("OXEN_REPO_PATH", str(VAR_DIR / "oxen-dataset")))
OXEN_REMOTE = env_str("OXEN_REMOTE")
OXEN_API_KEY = env_str("OXEN_API_KEY")
OXEN_BRANCH = env_str("OXEN_BRANCH", "main")
OXEN_AUTHOR_NAME = env_str("OXEN_AUTHOR_NAME", "Corral export")
OXEN_AUTHOR_EMAIL = env_str("OXEN_AUTHOR_EMAIL", "corral-export@localhost")
EXPORT_INTERVAL_SECONDS = env_int("EXPORT_INTERVAL_SECONDS", 3600, minimum=60)
# How often beat refreshes the Quality page's stored figures of projects with new judgements since.
QUALITY_REFRESH_SECONDS = env_int("QUALITY_REFRESH_SECONDS", 900, minimum=60)
# Oxen reads the commit author (and a hub token) from this folder, kept apart from the user's own ~/.config/oxen.
OXEN_CONFIG_DIR = Path(env_str("OXEN_CONFIG_DIR", str(VAR_DIR / "oxen-config")))
# Rows read and written per step; bounds the export's memory whatever the size of the history.
EXPORT_CHUNK_SIZE = env_int("EXPORT_CHUNK_SIZE", 5000, minimum=1)
# A row changed this long before the last whole export started, and committed after it, would be missed.
EXPORT_LATE_COMMIT_MARGIN_SECONDS = env_int("EXPORT_LATE_COMMIT_MARGIN_SECONDS", 600, minimum=0)
# Fault injection for the crash tests: the export SIGKILLs itself at this stage (see exports/crash.py).
EXPORT_CRASH_AT = env_str("CORRAL_EXPORT_CRASH_AT")

# Webhooks (api/webhooks): an attempt's timeout; retries wait base × 4^(attempt − 1) seconds, capped, for this many
# attempts (the defaults: 10 s, 40 s, 160 s, … then every 6 hours, about 28 hours in all).
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 10, minimum=1)
WEBHOOK_RETRY_MAX_SECONDS = env_int("WEBHOOK_RETRY_MAX_SECONDS", 6 * 3600, minimum=1)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 11, minimum=1)
# A retry due within this many seconds is queued by the worker itself; later ones are picked up by the beat.
WEBHOOK_RETRY_IN_WORKER_MAX_SECONDS = env_int("WEBHOOK_RETRY_IN_WORKER_MAX_SECONDS", 600, minimum=0)
# Receivers on loopback addresses (this machine) are refused unless this is on: tests, one-machine setups.
WEBHOOK_ALLOW_LOOPBACK = env_bool("WEBHOOK_ALLOW_LOOPBACK", False)
# How often the beat queues deliveries whose time has come (retries, and any whose queue message was lost).
WEBHOOK_PICKUP_SECONDS = env_int("WEBHOOK_PICKUP_SECONDS", 30, minimum=1)

# plain: readable lines for a terminal; json: one object per line for a log collector (use it in production).
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", ("plain", "json"))
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "corral.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # corral.task writes one line per task run with its ids and duration; Celery's own two add nothing.
        "celery.app.trace": {"level": "WARNING"},
        "celery.worker.strategy": {"level": "WARNING"},
    },
}

CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "generation.tasks.heartbeat", "schedule": float(WORKER_HEARTBEAT_SECONDS)},
    "generation-fail-stuck-jobs": {"task": "generation.tasks.fail_stuck_jobs", "schedule": 60.0},
    "export-oxen": {"task": "exports.tasks.export_to_oxen", "schedule": float(EXPORT_INTERVAL_SECONDS)},
    "labeling-count-projects": {"task": "labeling.tasks.count_projects", "schedule": float(PROJECT_COUNTS_SECONDS)},
    "quality-refresh": {"task": "quality.tasks.quality_refresh_stale", "schedule": float(QUALITY_REFRESH_SECONDS)},
    "webhook-deliveries-due": {"task": "api.webhooks.deliver_due", "schedule": float(WEBHOOK_PICKUP_SECONDS)},
}
