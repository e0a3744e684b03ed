"""Django settings for Academy, read from environment variables (12-factor).

Unset variables fall back to embedded defaults that need no services at all: a SQLite file,
a file-system cache shared by the web and worker processes, the ORM task broker and an
in-process channel layer backed by the stored event outbox. ``DATABASE_URL`` switches to
PostgreSQL, ``REDIS_URL`` to Redis for the cache, channel layer, task broker and rate limits.
See README.md for the full list.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from siteconfig.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime data of the embedded mode (SQLite file, uploads, cache, collected static files).
DATA_DIR = Path(env_str("ACADEMY_DATA_DIR") or BASE_DIR / "var")

# --- Core -----------------------------------------------------------------------------------

DEBUG = env_bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (production mode)."
        )
    SECRET_KEY = "django-insecure-embedded-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
# Public base URL, used for links in emails and the Wagtail admin.
ACADEMY_BASE_URL = env_str("ACADEMY_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
WAGTAILADMIN_BASE_URL = ACADEMY_BASE_URL
WAGTAIL_SITE_NAME = env_str("ACADEMY_SITE_NAME", "Academy")

INSTALLED_APPS = [
    "siteconfig",
    "courses",
    "learning",
    "realtime",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail_modeladmin",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_q",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
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
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "siteconfig.urls"
WSGI_APPLICATION = "siteconfig.wsgi.application"
ASGI_APPLICATION = "siteconfig.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
                "siteconfig.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL)
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # psycopg's connection pool, not CONN_MAX_AGE: persistent connections leak under ASGI
        # because each request may run in a different thread.
        _db["CONN_MAX_AGE"] = 0
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN", 1),
            "max_size": env_int("DATABASE_POOL_MAX", 10),
            "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
        }
    DATABASES = {"default": _db}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "academy.sqlite3",
            "OPTIONS": {
                # WAL lets the web server read while the task worker writes; IMMEDIATE
                # transactions take the write lock up front instead of failing mid-way.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, sessions, Redis -----------------------------------------------------------------

REDIS_URL = env_str("REDIS_URL")
CACHE_KEY_PREFIX = env_str("ACADEMY_CACHE_PREFIX", "academy")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }
else:
    # Shared by the web server and the task worker (two processes), unlike LocMemCache.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": DATA_DIR / "cache",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
# Sessions live in the database and are cached: fast reads, and a cache restart logs no one out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# Default lifetime of cached read models (course progress, catalog fragments), in seconds.
ACADEMY_CACHE_TIMEOUT = env_int("ACADEMY_CACHE_TIMEOUT", 300)

# --- Auth -----------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "/"

# --- Internationalisation -------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("ACADEMY_MEDIA_ROOT") or DATA_DIR / "media")
# Serve uploads from the app itself (fine for small sites); a proxy can take this over.
ACADEMY_SERVE_MEDIA = env_bool("ACADEMY_SERVE_MEDIA", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedStaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# --- Wagtail --------------------------------------------------------------------------------

WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "key", "md", "odt", "pdf", "pptx", "rtf", "txt", "xlsx", "zip"]
WAGTAILIMAGES_MAX_UPLOAD_SIZE = 10 * 1024 * 1024
WAGTAIL_MODERATION_ENABLED = True

# --- Email ----------------------------------------------------------------------------------


def _email_from_url(url: str) -> dict[str, object]:
    """Translate ``smtp://user:pass@host:port?tls=1`` (or ``smtps://``) into EMAIL_* settings."""
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if parts.scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme not in {"smtp", "smtps"}:
        raise ImproperlyConfigured(f"EMAIL_URL scheme must be smtp, smtps or console, not {parts.scheme!r}")
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname or "localhost",
        "EMAIL_PORT": parts.port or (465 if parts.scheme == "smtps" else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": parts.scheme == "smtps",
        "EMAIL_USE_TLS": query.get("tls", "0").lower() in {"1", "true", "yes"},
    }


EMAIL_URL = env_str("EMAIL_URL")
if EMAIL_URL:
    globals().update(_email_from_url(EMAIL_URL))
elif env_str("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env_str("EMAIL_HOST")
    EMAIL_PORT = env_int("EMAIL_PORT", 25)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
else:
    # Embedded default: mail is printed by the task worker that sends it.
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Academy <noreply@academy.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- REST API -------------------------------------------------------------------------------

# Number of reverse proxies in front of the app; 0 means X-Forwarded-For is never trusted.
NUM_PROXIES = env_int("ACADEMY_NUM_PROXIES", 0)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("ACADEMY_THROTTLE_ANON", "100/hour"),
        "user": env_str("ACADEMY_THROTTLE_USER", "1000/hour"),
    },
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Academy API",
    "VERSION": "1",
    # Document only our public API, not Wagtail's internal admin API views.
    "PREPROCESSING_HOOKS": ["siteconfig.api_schema.only_public_api"],
}

# --- Channels -------------------------------------------------------------------------------

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": f"{CACHE_KEY_PREFIX}:asgi",
                # Sized deliberately: a slow socket's queue fills at `capacity` and only that
                # socket misses live frames (it catches up from the stored outbox on resume).
                "capacity": env_int("ACADEMY_CHANNEL_CAPACITY", 1000),
                "expiry": 60,
                "group_expiry": 86400,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Background tasks (Django-Q2) -----------------------------------------------------------

# The ORM broker acknowledges a task only after it ran, so a killed worker loses nothing; the
# Redis broker is faster but loses tasks that were in flight when a worker died.
TASK_BROKER = env_str("ACADEMY_TASK_BROKER", "redis" if REDIS_URL else "orm")
if TASK_BROKER not in {"orm", "redis"}:
    raise ImproperlyConfigured("ACADEMY_TASK_BROKER must be 'orm' or 'redis'")
if TASK_BROKER == "redis" and not REDIS_URL:
    raise ImproperlyConfigured("ACADEMY_TASK_BROKER=redis needs REDIS_URL")
Q_CLUSTER: dict[str, object] = {
    "name": "academy",
    "workers": env_int("ACADEMY_TASK_WORKERS", 2),
    # A task that runs longer than `timeout` seconds is killed; `retry` must be longer so a
    # task still running is never handed to a second worker.
    "timeout": env_int("ACADEMY_TASK_TIMEOUT", 120),
    "retry": env_int("ACADEMY_TASK_RETRY", 180),
    "max_attempts": env_int("ACADEMY_TASK_MAX_ATTEMPTS", 5),
    "ack_failures": True,
    "save_limit": env_int("ACADEMY_TASK_SAVE_LIMIT", 5000),
    "catch_up": False,
    "label": "Tasks",
}
if TASK_BROKER == "redis":
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.2

# --- Logging, monitoring --------------------------------------------------------------------

LOG_LEVEL = env_str("DJANGO_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "django_q": {"level": env_str("ACADEMY_TASK_LOG_LEVEL", "WARNING")},
    },
}

SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", "development" if DEBUG else "production"),
        traces_sample_rate=float(env_str("SENTRY_TRACES_SAMPLE_RATE", "0.1")),
        send_default_pii=False,
    )

# --- Security (production) ------------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
# Wagtail's live preview renders the page in a same-origin iframe, so DENY would break editing.
X_FRAME_OPTIONS = "SAMEORIGIN"
SILENCED_SYSTEM_CHECKS = ["security.W019"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=True)
    if NUM_PROXIES:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # The health probes are called over plain HTTP by the orchestrator.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
