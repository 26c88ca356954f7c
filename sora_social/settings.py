"""Settings, all from environment variables, with defaults that work on a development machine.

DJANGO_ENV picks the profile: "development" (default; a fixed dev SECRET_KEY is allowed),
"test", or "production" (SECRET_KEY required, secure cookies, HSTS, SSL redirect).
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from corsheaders.defaults import default_headers
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DJANGO_ENV = env_str("DJANGO_ENV", "development")
if DJANGO_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be development, test or production, not {DJANGO_ENV!r}")
IS_PRODUCTION = DJANGO_ENV == "production"

DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if IS_PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when DJANGO_ENV=production")
    SECRET_KEY = "dev-only-insecure-key-" + "x" * 40  # never used outside development and tests

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if IS_PRODUCTION else "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# --- CORS: browser apps on other origins (django-cors-headers) ---------------------------------
# Off unless configured: CORS_ALLOWED_ORIGINS="https://app.example.com,https://studio.example.com"
# (or CORS_ALLOW_ALL_ORIGINS=1 for a public API used with bearer tokens, never cookies). Only the
# API is shared: /api/ and /v1/ (the console and its session cookie never are).
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_ALLOW_ALL_ORIGINS = env_bool("CORS_ALLOW_ALL_ORIGINS", False)
CORS_URLS_REGEX = r"^/(api|v1)/.*$"
CORS_ALLOW_CREDENTIALS = False  # bearer tokens and API keys, not cookies
CORS_ALLOW_HEADERS = (
    *default_headers,
    "idempotency-key",
    "x-request-id",
    # what the openai SDKs send (JavaScript's with dangerouslyAllowBrowser)
    "openai-organization",
    "openai-project",
    "x-stainless-arch",
    "x-stainless-lang",
    "x-stainless-os",
    "x-stainless-package-version",
    "x-stainless-runtime",
    "x-stainless-runtime-version",
    "x-stainless-retry-count",
    "x-stainless-read-timeout",
    "x-stainless-timeout",
)
CORS_EXPOSE_HEADERS = (
    "x-request-id",
    "openai-poll-after-ms",
    "retry-after",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "ratelimit-policy",
    "link",
    "idempotent-replayed",
    "content-range",
    "accept-ranges",
    "content-disposition",
)
CORS_PREFLIGHT_MAX_AGE = env_int("CORS_PREFLIGHT_MAX_AGE", 86400)

INSTALLED_APPS = [
    "daphne",  # must precede staticfiles so `runserver` is the ASGI one
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "corsheaders",
    "sora_social.users",
    "sora_social.apikeys",
    "sora_social.webhooks",
    "sora_social.notifications",
    "sora_social.outbox",
    "sora_social.idempotency",
    "sora_social.demo",
    "cameos",
    "moderation",
    "generation",
    "feed",
    "feed.ranking",
    # Offline tooling (seeding, simulation, evaluation): imports the apps, never imported by them.
    "tools",
]

MIDDLEWARE = [
    # First, so every answer carries X-Request-Id, early refusals of the middleware below too.
    "sora_social.common.middleware.RequestIdMiddleware",
    "sora_social.common.middleware.ServerTimingMiddleware",
    "sora_social.common.middleware.ApiResponseHeadersMiddleware",
    # CORS for browser apps (django-cors-headers; answers preflights before anything else runs).
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "sora_social.common.middleware.RejectNulCharactersMiddleware",
    "sora_social.common.middleware.RejectRepeatedQueryParametersMiddleware",
    "sora_social.common.middleware.RequestBodyLimitMiddleware",
    "sora_social.common.middleware.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "sora_social.urls"
ASGI_APPLICATION = "sora_social.asgi.application"
WSGI_APPLICATION = "sora_social.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "sora_social" / "templates"],
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

# --- Database: PostgreSQL through psycopg 3 -------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sora_social")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Fail fast when PostgreSQL is unreachable (docs/operations.md): a connect gives up after
# DB_CONNECT_TIMEOUT_S, and a connection whose peer stopped acknowledging is dropped after
# DB_TCP_USER_TIMEOUT_MS, instead of the kernel's minutes; the request answers 503.
DATABASES["default"]["OPTIONS"].update(
    {
        "connect_timeout": env_int("DB_CONNECT_TIMEOUT_S", 2),
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 2,
        "keepalives_count": 3,
        "tcp_user_timeout": env_int("DB_TCP_USER_TIMEOUT_MS", 5000),
    }
)
# A statement that runs longer than this is cancelled by the server (0 = no limit). Sent as a
# startup option, so leave it 0 behind PgBouncer and set it on the role there instead.
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 0)
if DB_STATEMENT_TIMEOUT_MS:
    DATABASES["default"]["OPTIONS"]["options"] = f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker, cache (throttles, trending), channel layer -----------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
REDIS_DB_BROKER = env_int("REDIS_DB_BROKER", 0)
REDIS_DB_CACHE = env_int("REDIS_DB_CACHE", 1)
REDIS_DB_CHANNELS = env_int("REDIS_DB_CHANNELS", 2)
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "sora")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"{REDIS_URL}/{REDIS_DB_CACHE}",
        "KEY_PREFIX": REDIS_KEY_PREFIX,
        # Redis down: fail in about a second (the request answers 503), not after the kernel's
        # connect timeout.
        "OPTIONS": {
            "socket_connect_timeout": env_float("REDIS_CONNECT_TIMEOUT_S", 1.0),
            "socket_timeout": env_float("REDIS_SOCKET_TIMEOUT_S", 2.0),
        },
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py 8 reads with a 5 s socket timeout by default, the same 5 s that
            # channels_redis blocks in BZPOPMIN: an idle websocket then dies with a
            # TimeoutError (close 1011). Reads must be allowed to outlast the blocking pop.
            "hosts": [{"address": f"{REDIS_URL}/{REDIS_DB_CHANNELS}", "socket_timeout": 30}],
            "prefix": f"{REDIS_KEY_PREFIX}:asgi",
            "capacity": 1000,
            "expiry": 60,
        },
    }
}

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", f"{REDIS_URL}/{REDIS_DB_BROKER}")
CELERY_RESULT_BACKEND = None  # results live in the database (GenerationJob), not in Celery
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"generation.tasks.generation_job_run": {"queue": "gpu"}}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker process loads its models before it reports up (sora_social.celery); the pool must
# wait for that rather than kill it after billiard's default 4 s.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = env_float("CELERY_WORKER_PROC_ALIVE_TIMEOUT_S", 180.0)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A task acked late whose worker died is redelivered after this long.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    "global_keyprefix": f"{REDIS_KEY_PREFIX}:celery:",
    # A publish while Redis is down fails in about a second; the outbox keeps the message.
    "socket_connect_timeout": env_float("REDIS_CONNECT_TIMEOUT_S", 1.0),
    "socket_timeout": env_float("CELERY_BROKER_SOCKET_TIMEOUT_S", 5.0),
}
CELERY_BROKER_CONNECTION_TIMEOUT = env_float("CELERY_BROKER_CONNECTION_TIMEOUT_S", 1.0)
# Workers keep retrying the broker forever (an outage delays work, it never ends a worker).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
# Periodic tasks, all declared in one place (sora_social/periodic.py); beat reads this. An
# assignment, not a bare import (a linter's autofix once removed the "unused" import, and beat
# ran nothing); tests/test_periodic_and_outbox.py checks it is loaded.
from sora_social import periodic  # noqa: E402

CELERY_BEAT_SCHEDULE = periodic.CELERY_BEAT_SCHEDULE

# The transactional outbox (sora_social/outbox; the relay runs every OUTBOX_RELAY_EVERY_S, see
# periodic.py): how long a sender's claim lasts, how long sent rows are kept for inspection.
OUTBOX_CLAIM_LEASE_S = env_int("OUTBOX_CLAIM_LEASE_S", 60)
OUTBOX_KEEP_SENT_S = env_int("OUTBOX_KEEP_SENT_S", 3600)

# --- Auth ---------------------------------------------------------------------------------
AUTH_USER_MODEL = "users.User"
# ModelBackend behind the per-account log-in backoff, for the app's log-in and the console's.
AUTHENTICATION_BACKENDS = ["sora_social.users.backends.LoginBackoffBackend"]
AUTH_PASSWORD_VALIDATORS = [
    # Django's default attributes (username, first_name, …) do not exist on our User: name ours.
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("handle", "display_name", "email")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    # Django's list, also when the password repeats or decorates a common one (users/password_validation.py).
    {"NAME": "sora_social.users.password_validation.CommonPasswordVariantValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if DJANGO_ENV == "test":
    # Hashing cost is irrelevant in tests and dominates their run time otherwise.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "admin:login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # `Bearer sk-…` (an app's API key, scopes checked at once), then a person's token.
        "sora_social.apikeys.authentication.ApiKeyAuthentication",
        "sora_social.users.authentication.BearerTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's, refusing bodies that would crash a view or the database (common/parsers.py).
    # Request bodies are JSON; the views that take real uploads name the multipart parser.
    "DEFAULT_PARSER_CLASSES": ["sora_social.common.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Operation ids, error responses and the error body (sora_social/common/schema.py).
    "DEFAULT_SCHEMA_CLASS": "sora_social.common.schema.ApiSchema",
    "EXCEPTION_HANDLER": "sora_social.common.errors.exception_handler",
    # Proxies in front of the server that append to X-Forwarded-For (0: none, the throttles key
    # on the peer address; a client's own X-Forwarded-For is never believed).
    "NUM_PROXIES": env_int("TRUSTED_PROXY_HOPS", 0),
    "DEFAULT_THROTTLE_RATES": {
        "signup": env_str("THROTTLE_SIGNUP", "20/hour"),
        "login": env_str("THROTTLE_LOGIN", "30/min"),
        "video_upload": env_str("THROTTLE_VIDEO_UPLOAD", "60/hour"),
        "password_reset": env_str("THROTTLE_PASSWORD_RESET", "10/hour"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "sora_social API",
    "DESCRIPTION": "The backend of a social AI-video app: posts, remixes, cameos, generation, feeds.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "APPEND_COMPONENTS": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
    },
    "ENUM_NAME_OVERRIDES": {"OpenAIVideoSecondsEnum": ["4", "8", "12"]},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "sora_social.common.schema.postprocess_text_without_nul",
    ],
}

# --- I18N / time --------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media (Django storage API; S3-compatible through django-storages) ----------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGE_BACKEND = env_str("STORAGE_BACKEND", "filesystem")  # or "s3"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if IS_PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
if STORAGE_BACKEND == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("S3_BUCKET"),
            "endpoint_url": env_str("S3_ENDPOINT_URL") or None,
            "access_key": env_str("S3_ACCESS_KEY_ID"),
            "secret_key": env_str("S3_SECRET_ACCESS_KEY"),
            "region_name": env_str("S3_REGION") or None,
            "querystring_auth": True,
            "default_acl": "private",
        },
    }
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
MAX_VIDEO_UPLOAD_BYTES = env_int("MAX_VIDEO_UPLOAD_BYTES", 50 * 1024 * 1024)
MAX_VIDEO_SECONDS = env_float("MAX_VIDEO_SECONDS", 60.0)  # the longest clip an upload may be
MAX_VIDEO_DIMENSION = env_int("MAX_VIDEO_DIMENSION", 4096)  # the widest side an upload may have

# --- Security (production) ----------------------------------------------------------------
SESSION_COOKIE_SECURE = IS_PRODUCTION
CSRF_COOKIE_SECURE = IS_PRODUCTION
SECURE_SSL_REDIRECT = IS_PRODUCTION and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if IS_PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = IS_PRODUCTION
SECURE_HSTS_PRELOAD = IS_PRODUCTION
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # request_id: the X-Request-Id of the request being served ("-" outside one).
    "filters": {"request_id": {"()": "sora_social.common.request_id.RequestIdLogFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}

# --- The app's own knobs ------------------------------------------------------------------
AUTH_TOKEN_TTL = timedelta(days=env_int("AUTH_TOKEN_TTL_DAYS", 90))
# An open websocket re-checks its token this often (and at its expiry): a revocation whose close
# message was lost, a deactivated account, still close it (code 4401).
WS_TOKEN_RECHECK_S = env_float("WS_TOKEN_RECHECK_S", 30.0)
# Per-account log-in backoff (users/login_backoff.py): locked after this many failures, for a
# window that doubles with each further one.
LOGIN_BACKOFF_AFTER_FAILURES = env_int("LOGIN_BACKOFF_AFTER_FAILURES", 5)
LOGIN_BACKOFF_BASE_S = env_int("LOGIN_BACKOFF_BASE_S", 30)
LOGIN_BACKOFF_MAX_S = env_int("LOGIN_BACKOFF_MAX_S", 3600)
MINOR_AGE_YEARS = 18
# A retry with the same Idempotency-Key within this long gets the first response again.
IDEMPOTENCY_KEY_TTL_S = env_int("IDEMPOTENCY_KEY_TTL_S", 24 * 3600)
# A 429 whose wait is not known (jobs in flight, say) still says when to try again.
RETRY_AFTER_DEFAULT_S = env_int("RETRY_AFTER_DEFAULT_S", 30)
# Password reset mail: Django's mail backend (the console in development; SMTP through the
# EMAIL_* settings in production). The link is the app's (a deep link or a web page) and gets
# the uid and token to POST to /api/v1/auth/password/reset/confirm.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "sora_social <no-reply@localhost>")
PASSWORD_RESET_LINK = env_str("PASSWORD_RESET_LINK", "sora-social://password-reset?uid={uid}&token={token}")

# --- Generation ---------------------------------------------------------------------------
# C2PA signing material (PEM). `make setup` creates a development CA and signing certificate
# here (`manage.py make_dev_certificate`); production points these at real ones.
C2PA_CERT_CHAIN_PATH = Path(env_str("C2PA_CERT_CHAIN_PATH", str(BASE_DIR / "var" / "c2pa" / "chain.pem")))
C2PA_PRIVATE_KEY_PATH = Path(env_str("C2PA_PRIVATE_KEY_PATH", str(BASE_DIR / "var" / "c2pa" / "signer-key.pem")))
C2PA_TSA_URL = env_str("C2PA_TSA_URL", "")  # a timestamp authority, if one is reachable
C2PA_CLAIM_GENERATOR = "sora_social/0.1"
# The generator behind the pipeline: "embedded" (the shipped video model) or "remote" (any
# server speaking the OpenAI Videos API, e.g. vLLM-Omni or SGLang serving Wan on a GPU fleet).
GENERATION_BACKEND = env_str("GENERATION_BACKEND", "embedded")
GENERATION_REMOTE_URL = env_str("GENERATION_REMOTE_URL", "")  # e.g. http://gpu-fleet:8000/v1
GENERATION_REMOTE_API_KEY = env_str("GENERATION_REMOTE_API_KEY", "")
GENERATION_REMOTE_MODEL = env_str("GENERATION_REMOTE_MODEL", "wan2.2-t2v")
GENERATION_REMOTE_POLL_S = env_float("GENERATION_REMOTE_POLL_S", 2.0)
GENERATION_REMOTE_TIMEOUT_S = env_float("GENERATION_REMOTE_TIMEOUT_S", 900.0)
# Several endpoints, routed by model and health (generation/backends/remote.py): a JSON list of
# {"name", "url", "api_key", "flavour": openai|vllm-omni|sglang|sora_social, "models"?, "capabilities"?}.
# Empty: one endpoint from GENERATION_REMOTE_URL / _API_KEY / _FLAVOUR.
GENERATION_REMOTE_ENDPOINTS = json.loads(env_str("GENERATION_REMOTE_ENDPOINTS", "") or "[]")
GENERATION_REMOTE_FLAVOUR = env_str("GENERATION_REMOTE_FLAVOUR", "openai")
# vLLM-Omni / SGLang extension fields, sent only to endpoints that take them (unset: not sent).
GENERATION_REMOTE_STEPS = env_int("GENERATION_REMOTE_STEPS", 0) or None
GENERATION_REMOTE_GUIDANCE_SCALE = float(env_str("GENERATION_REMOTE_GUIDANCE_SCALE", "") or 0) or None
GENERATION_REMOTE_NEGATIVE_PROMPT = env_str("GENERATION_REMOTE_NEGATIVE_PROMPT", "")
GENERATION_REMOTE_FPS = env_int("GENERATION_REMOTE_FPS", 0) or None
# A busy (429) or failing (5xx) endpoint cools down: its Retry-After, else this backoff doubling.
GENERATION_REMOTE_BACKOFF_S = env_float("GENERATION_REMOTE_BACKOFF_S", 2.0)
GENERATION_REMOTE_BACKOFF_MAX_S = env_float("GENERATION_REMOTE_BACKOFF_MAX_S", 300.0)
GENERATION_REMOTE_DISCOVERY_TTL_S = env_float("GENERATION_REMOTE_DISCOVERY_TTL_S", 300.0)
# A job the fleet keeps refusing as busy waits in the queue this long in all, then fails.
GENERATION_REMOTE_MAX_WAIT_S = env_int("GENERATION_REMOTE_MAX_WAIT_S", 3600)
GENERATION_DEVICE = env_str("GENERATION_DEVICE", "auto")  # auto | cpu | cuda
# The embedded demo model draws only coloured shapes: a prompt far from its training captions
# (generation/demo_domain.py) gets a notice on the job ("notice"), is refused at submit with 422
# prompt_out_of_domain ("refuse"), or is not checked ("off"). The threshold is the benchmark's
# (benchmarks/results/demo_model_domain.json) unless GENERATION_DEMO_DOMAIN_THRESHOLD is set.
GENERATION_DEMO_OUT_OF_DOMAIN = env_str("GENERATION_DEMO_OUT_OF_DOMAIN", "notice")
GENERATION_DEMO_DOMAIN_THRESHOLD = env_str("GENERATION_DEMO_DOMAIN_THRESHOLD", "")
# "diffusers": an open Wan 2.x model (diffusers layout) from a local folder, never downloaded;
# docs/generation.md ("diffusers backend") explains each knob.
GENERATION_DIFFUSERS_MODEL_DIR = env_str("GENERATION_DIFFUSERS_MODEL_DIR", "")
GENERATION_DIFFUSERS_MODEL_NAME = env_str("GENERATION_DIFFUSERS_MODEL_NAME", "")  # default: the folder's name
GENERATION_DIFFUSERS_STEPS = env_int("GENERATION_DIFFUSERS_STEPS", 50)
GENERATION_DIFFUSERS_GUIDANCE_SCALE = env_float("GENERATION_DIFFUSERS_GUIDANCE_SCALE", 5.0)
GENERATION_DIFFUSERS_NEGATIVE_PROMPT = env_str("GENERATION_DIFFUSERS_NEGATIVE_PROMPT", "")
GENERATION_DIFFUSERS_FPS = env_int("GENERATION_DIFFUSERS_FPS", 24)
GENERATION_DIFFUSERS_MAX_FRAMES = env_int("GENERATION_DIFFUSERS_MAX_FRAMES", 121)
GENERATION_DIFFUSERS_MAX_AREA = env_int("GENERATION_DIFFUSERS_MAX_AREA", 1280 * 704)  # render pixels per frame
GENERATION_DIFFUSERS_MAX_BATCH = env_int("GENERATION_DIFFUSERS_MAX_BATCH", 4)
GENERATION_DIFFUSERS_CPU_OFFLOAD = env_bool("GENERATION_DIFFUSERS_CPU_OFFLOAD", False)
GENERATION_DIFFUSERS_VAE_TILING = env_bool("GENERATION_DIFFUSERS_VAE_TILING", False)
GENERATION_DAILY_FREE_CREDITS = env_int("GENERATION_DAILY_FREE_CREDITS", 30)
GENERATION_CREDITS_PER_4S = env_int("GENERATION_CREDITS_PER_4S", 1)  # a 4 s clip costs 1, 12 s costs 3
GENERATION_MAX_IN_FLIGHT = env_int("GENERATION_MAX_IN_FLIGHT", 3)  # queued + running jobs per user
# Webhooks (sora_social/webhooks): Standard Webhooks-signed POSTs to the endpoints apps register.
# An attempt waits WEBHOOK_TIMEOUT_S; a failed one is retried after WEBHOOK_RETRY_BASE_S doubling per
# attempt (at most WEBHOOK_RETRY_MAX_S) until WEBHOOK_MAX_ATTEMPTS (8: about 10 minutes in all).
# Endpoints must resolve to public addresses and use https in production (no POSTs into our network).
WEBHOOK_TIMEOUT_S = env_float("WEBHOOK_TIMEOUT_S", 10.0)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8)
WEBHOOK_RETRY_BASE_S = env_float("WEBHOOK_RETRY_BASE_S", 5.0)
WEBHOOK_RETRY_MAX_S = env_float("WEBHOOK_RETRY_MAX_S", 3600.0)
WEBHOOK_SWEEP_GRACE_S = env_int("WEBHOOK_SWEEP_GRACE_S", 60)
WEBHOOK_MAX_ENDPOINTS = env_int("WEBHOOK_MAX_ENDPOINTS", 10)
WEBHOOK_REQUIRE_HTTPS = env_bool("WEBHOOK_REQUIRE_HTTPS", IS_PRODUCTION)
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", not IS_PRODUCTION)

# Apps' API keys (sora_social/apikeys): a key's generations spend the key's daily credits (per UTC
# day) and count against its own jobs in flight, never the owner's. Staff can give a key numbers
# of its own; otherwise its plan's apply.
API_KEY_PLANS = {
    "standard": {
        "daily_credits": env_int("API_KEY_STANDARD_DAILY_CREDITS", 300),
        "max_in_flight": env_int("API_KEY_STANDARD_MAX_IN_FLIGHT", 10),
    },
    # Another sora_social instance using this one as its GPU fleet: its output comes back
    # without this instance's visible watermark (the instance marks it once, with its own
    # user's handle; C2PA is still signed here). Only staff put a key on this plan.
    "fleet": {
        "daily_credits": env_int("API_KEY_FLEET_DAILY_CREDITS", 100_000),
        "max_in_flight": env_int("API_KEY_FLEET_MAX_IN_FLIGHT", 64),
        "unmarked_output": True,
    },
}
API_KEY_DEFAULT_PLAN = "standard"
API_KEY_MAX_PER_USER = env_int("API_KEY_MAX_PER_USER", 20)
GENERATION_MAX_ATTEMPTS = env_int("GENERATION_MAX_ATTEMPTS", 3)
# A running job whose heartbeat is older than this has lost its worker; the reaper steps in.
GENERATION_STALE_AFTER_S = env_int("GENERATION_STALE_AFTER_S", 90)
# A queued job whose task message has not been picked up for this long is enqueued again.
GENERATION_REQUEUE_AFTER_S = env_int("GENERATION_REQUEUE_AFTER_S", 600)
GENERATION_SOFT_TIME_LIMIT_S = env_int("GENERATION_SOFT_TIME_LIMIT_S", 600)
GENERATION_TIME_LIMIT_S = env_int("GENERATION_TIME_LIMIT_S", 660)
# Batched gpu workers (docs/generation.md, "Batched workers"): a worker claims up to this many
# compatible queued jobs (same backend, conditioning group, steps, length and size) and renders
# them in one model pass, while the CPU stages of its previous batch (upscale, watermark,
# encode, sign, media check) run in GENERATION_MEDIA_THREADS threads beside the render.
GENERATION_BATCH_MAX = env_int("GENERATION_BATCH_MAX", 4)
GENERATION_MEDIA_THREADS = env_int("GENERATION_MEDIA_THREADS", 0)  # 0: one per job of a batch
# The embedded model batches on CUDA; on CPU only when this is set (a seed's clip may then
# differ in the last bit from the same seed drawn alone).
GENERATION_EMBEDDED_CPU_BATCH = env_bool("GENERATION_EMBEDDED_CPU_BATCH", False)
GENERATION_POLL_AFTER_MS = env_int("GENERATION_POLL_AFTER_MS", 1000)  # the openai-poll-after-ms header
# /v1/videos: the model name answered for the backend (default: the backend's own), the names an
# app written for OpenAI may also send (served by the same backend), and how long a completed
# video's content is served there (its `expires_at`; the app's own drafts are not affected).
GENERATION_MODEL_NAME = env_str("GENERATION_MODEL_NAME", "")
OPENAI_MODEL_ALIASES = env_list("OPENAI_MODEL_ALIASES", "sora-2,sora-2-pro")
OPENAI_VIDEO_EXPIRES_AFTER_S = env_int("OPENAI_VIDEO_EXPIRES_AFTER_S", 24 * 3600)
GENERATION_DEFAULT_SIZE = env_str("GENERATION_DEFAULT_SIZE", "720x1280")
# The sizes offered (OpenAI's four by default); an operator or a test may offer others (even numbers).
GENERATION_SIZES = tuple(env_list("GENERATION_SIZES", "720x1280,1280x720,1024x1792,1792x1024"))
GENERATION_MAX_CAMEOS = 2

# --- Feed ranking (feed/ranking; docs/ranking.md explains every knob) ----------------------
FEED_RANKING = {
    # value = Σ w·term over p(create), p(remix), friend·p(like), early post·p(like), −p(hide);
    # the objective says what each outcome is worth, the weights w are fitted to it by
    # train_ranker (feed/ranking/value.py, docs/ranking.md "Value").
    "OBJECTIVE": {
        "create": env_float("FEED_OBJ_CREATE", 1.0),  # the viewer posts something within an hour
        "remix": env_float("FEED_OBJ_REMIX", 1.0),  # the viewer remixes this post
        "friend": env_float("FEED_OBJ_FRIEND", 0.1),  # a friend's post gets a like or a remix
        "new_creator": env_float("FEED_OBJ_NEW_CREATOR", 0.2),  # an early post gets a like or a remix
        "hide": env_float("FEED_OBJ_HIDE", 1.0),  # hidden or reported: counted against
    },
    # score = value·fatigue·e^(steer) (hide term outside): the viewer's own controls.
    "WEIGHTS": {
        "first_post_hours": 72.0,
        "fatigue_strength": 0.8,
        "fatigue_days": 21.0,
        "steer": 2.5,
    },
    # Share of a list's slots filled at random, for off-policy evaluation (feed/ranking/explore.py).
    "EXPLORE_SHARE": env_float("FEED_EXPLORE_SHARE", 0.05),
    # Share of for-you sessions whose candidate pool is kept (ranking.PoolLog, a few kB each),
    # so off-policy evaluation scores the pools slots were really drawn from; kept POOL_LOG_DAYS.
    "POOL_LOG_SHARE": env_float("FEED_POOL_LOG_SHARE", 0.05),
    "POOL_LOG_DAYS": env_int("FEED_POOL_LOG_DAYS", 30),
    "RERANK": {
        "page_size": 20,
        "max_items": 200,  # one frozen session list; the next one is built when it runs out
        "author_decay": 0.5,
        "author_floor": 0.25,
        "author_cap": 2,
        "mmr_lambda": 0.3,
        "friends_quota": 0.25,
    },
    "SOURCES": {  # candidate budgets (about 500 in all)
        "friends": 120,
        "following": 100,
        "cameos": 40,
        "chains": 40,
        "trending": 100,
        "similar": 60,
        "fresh": 40,
    },
    "MODEL_PATH": env_str("FEED_MODEL_PATH", str(BASE_DIR / "var" / "ranking" / "ranker.npz")),
    "SESSION_TTL_S": 30 * 60,
    "PROFILE_TTL_S": 300,  # the viewer's profile (graph, affinities, taste) is cached this long
    "SEEN_TTL_S": env_int("FEED_SEEN_TTL_S", 3 * 24 * 3600),  # seen posts stay out of for-you this long
    "SEEN_CAP": 5000,
    "NUDGE_THRESHOLD": 4,  # watched posts of one topic since the last creation
    "NUDGE_WINDOW_H": 24,
    "NUDGES_PER_SESSION": 1,
    "TEEN_DAILY_LIMIT": env_int("FEED_TEEN_DAILY_LIMIT", 60),  # for-you posts a minor sees per local day
    "TRENDING_SIZE": 1000,
    "TRENDING_TTL_S": 30 * 60,
    # Following/friends: pull over the (author, created_at) index; see docs/ranking.md.
    "PULL_SCAN_FOLLOWS": 400,  # above this many follows, walk the time index instead of each author's
}

# --- Moderation -----------------------------------------------------------------------------
# An optional last prompt layer: any OpenAI-compatible chat model asked for a JSON verdict.
MODERATION_REMOTE_URL = env_str("MODERATION_REMOTE_URL", "")  # empty = off
MODERATION_REMOTE_MODEL = env_str("MODERATION_REMOTE_MODEL", "gpt-4o-mini")
MODERATION_REMOTE_API_KEY = env_str("MODERATION_REMOTE_API_KEY", "")
MODERATION_REMOTE_TIMEOUT_S = env_float("MODERATION_REMOTE_TIMEOUT_S", 10.0)

# --- Moderation: reports, cases, actions, appeals (moderation/limits.py, docs/moderation.md) ---
MODERATION_REPORT_RATE = env_str("MODERATION_REPORT_RATE", "30/hour")  # reports per reporter
MODERATION_STRIKES_TO_SUSPEND = env_int("MODERATION_STRIKES_TO_SUSPEND", 3)  # live strikes → suspension
MODERATION_STRIKE_WINDOW_DAYS = env_int("MODERATION_STRIKE_WINDOW_DAYS", 90)  # how long a strike counts
MODERATION_STRIKE_SUSPENSION_DAYS = env_int("MODERATION_STRIKE_SUSPENSION_DAYS", 7)
MODERATION_SUSPENSION_DAYS = env_int("MODERATION_SUSPENSION_DAYS", 7)  # a moderator's default suspension
MODERATION_APPEAL_WINDOW_DAYS = env_int("MODERATION_APPEAL_WINDOW_DAYS", 30)
# Names for the moderation API's enums in the OpenAPI schema (several apps have a "status").
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    **SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"],
    "ModerationTargetTypeEnum": "moderation.constants.TARGET_CHOICES",
    "ModerationReasonEnum": "moderation.constants.REASON_CHOICES",
    "ModerationReportReasonEnum": "moderation.constants.USER_REASON_CHOICES",
    "ModerationActionKindEnum": "moderation.constants.ACTION_CHOICES",
    "ModerationReportStatusEnum": "moderation.models.ReportStatus",
    "ModerationCaseStatusEnum": "moderation.models.CaseStatus",
    "ModerationCaseSourceEnum": "moderation.models.CaseSource",
    "ModerationAppealStatusEnum": "moderation.models.AppealStatus",
}


# --- Database connections of the web processes (docs/ranking.md, "Latency") -----------------
# Under ASGI every request runs in a thread of its own, so persistent connections
# (CONN_MAX_AGE > 0) pile up one per thread, and CONN_MAX_AGE=0 pays for a new PostgreSQL
# backend (fork, login, cold catalog caches) on every request. DB_POOL=1 gives each process a
# psycopg pool instead (Django's OPTIONS["pool"]; needs psycopg-pool), whose connections also
# keep the feeds' prepared statements. `make serve` turns it on.
if env_bool("DB_POOL", False):
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # pooling and persistent connections exclude each other
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": env_int("DB_POOL_MIN_SIZE", 2),
        "max_size": env_int("DB_POOL_MAX_SIZE", 10),
        # Waiting longer for a free connection than a client waits for an answer helps no one:
        # past this the request answers 503 with Retry-After.
        "timeout": env_float("DB_POOL_TIMEOUT_S", 2.0),
    }
    # CONN_HEALTH_CHECKS (above) makes Django check each pooled connection before handing it
    # out, so after a database outage requests get fresh connections instead of dead ones.
# The feeds' hot statements are server-side prepared (feed.selectors.prepared_cursor). Turn it
# off behind a pooler that cannot keep prepared statements (PgBouncer in transaction mode).
FEED_PREPARED_STATEMENTS = env_bool("FEED_PREPARED_STATEMENTS", True)


# --- Past one machine: replica, PgBouncer, metrics, JSON logs, Sentry (docs/SCALING.md) -----
# A streaming replica: lag-tolerant reads go there (sora_social/common/db_router.py), a user's
# own writes are read back from the primary until the replica has replayed them.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
READ_YOUR_WRITES_MAX_S = env_int("READ_YOUR_WRITES_MAX_S", 60)  # the longest a writer is pinned
REPLICA_MAX_LAG_S = env_float("REPLICA_MAX_LAG_S", 30.0)  # behind more than this: nobody reads it
if DATABASE_REPLICA_URL:
    _replica = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=DATABASES["default"]["CONN_MAX_AGE"])
    _replica.update(
        ENGINE="django.db.backends.postgresql",
        CONN_HEALTH_CHECKS=True,
        OPTIONS={**DATABASES["default"]["OPTIONS"], **_replica.get("OPTIONS", {})},
        TEST={"MIRROR": "default"},
    )
    DATABASES["replica"] = _replica
    DATABASE_ROUTERS = ["sora_social.common.db_router.PrimaryReplicaRouter"]
    MIDDLEWARE.insert(1, "sora_social.common.middleware.DatabaseRoutingMiddleware")
# Behind PgBouncer in transaction mode a server connection serves a different client after each
# transaction: nothing may outlive one. No prepared statements (psycopg's prepare_threshold,
# the feeds' prepared cursor), no server-side cursors (.iterator() holds a portal open), no
# startup options (statement_timeout goes on the role instead; the clusters run in UTC so
# Django never sends SET TIME ZONE).
DB_TRANSACTION_POOLING = env_bool("DB_TRANSACTION_POOLING", False)
if DB_TRANSACTION_POOLING:
    FEED_PREPARED_STATEMENTS = False
    for _alias in DATABASES.values():
        _alias["DISABLE_SERVER_SIDE_CURSORS"] = True
        _alias["OPTIONS"]["prepare_threshold"] = None
        _alias["OPTIONS"].pop("options", None)
# Prometheus: each process serves its own /metrics (web: the route below; workers and beat: a
# port of their own, METRICS_PORT, with prometheus_client's multiprocess mode for the prefork
# pool when PROMETHEUS_MULTIPROC_DIR is set). Off with METRICS_ENABLED=0.
METRICS_ENABLED = env_bool("METRICS_ENABLED", True)
METRICS_PORT = env_int("METRICS_PORT", 0)  # workers and beat: serve /metrics here (0 = not at all)
if METRICS_ENABLED:
    MIDDLEWARE.insert(1, "sora_social.common.middleware.RequestMetricsMiddleware")
# JSON log lines (one object a line, with the request id that followed the job from the request
# to the worker): LOG_FORMAT=json; the default in production.
LOG_FORMAT = env_str("LOG_FORMAT", "json" if IS_PRODUCTION else "plain")
if LOG_FORMAT == "json":
    LOGGING["formatters"]["json"] = {"()": "sora_social.common.json_logs.JsonFormatter"}
    LOGGING["handlers"]["console"]["formatter"] = "json"
    # The process's real stderr, never Celery's LoggingProxy that replaces sys.stderr in a
    # worker (a handler writing into it logs into itself, and its recursion guard drops lines).
    LOGGING["handlers"]["console"]["stream"] = "ext://sys.__stderr__"
    CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # the worker logs through the handler above
# Media bytes never pass through Python in production (generation/media_serving.py): with
# object storage the client is redirected to a presigned URL valid MEDIA_PRESIGNED_TTL_S (the
# object store serves Range); with the filesystem behind nginx, MEDIA_ACCEL_REDIRECT_PREFIX is
# nginx's internal location for MEDIA_ROOT (deploy/nginx.conf.template) and nginx sends the file.
MEDIA_PRESIGNED_TTL_S = env_int("MEDIA_PRESIGNED_TTL_S", 300)
MEDIA_ACCEL_REDIRECT_PREFIX = env_str("MEDIA_ACCEL_REDIRECT_PREFIX", "")
if STORAGE_BACKEND == "s3":
    STORAGES["default"]["OPTIONS"].update(
        signature_version="s3v4",
        # "path" for S3-compatible stores on one host name (Ceph RGW, MinIO); "virtual" for AWS.
        addressing_style=env_str("S3_ADDRESSING_STYLE", "path"),
        querystring_expire=MEDIA_PRESIGNED_TTL_S,
        file_overwrite=False,
    )
# Error reporting: SENTRY_DSN turns sentry-sdk on (Django, Celery and Redis integrations are
# enabled by it automatically); the request id goes with each event as a tag.
SENTRY_DSN = env_str("SENTRY_DSN", "")
if SENTRY_DSN:
    import sentry_sdk

    from sora_social.common.json_logs import sentry_before_send

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", DJANGO_ENV),
        release=env_str("SENTRY_RELEASE", "") or None,
        traces_sample_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0),
        send_default_pii=False,
        before_send=sentry_before_send,
    )
