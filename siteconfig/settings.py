"""Django settings for Academy, read from environment variables (12-factor).

Unset variables fall back to embedded defaults that need no services at all: a SQLite file,
a file-system cache shared by the web and worker processes, the ORM task broker and an
in-process channel layer backed by the stored event outbox. ``DATABASE_URL`` switches to
PostgreSQL, ``REDIS_URL`` to Redis for the cache, channel layer, task broker and rate limits.
See README.md for the full list.
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from academy import __version__
from academy.env import env_bool, env_int, env_list, env_rate, env_str
from academy.plugins.discovery import discover as discover_plugins

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
    "academy",
    "siteconfig",
    "courses",
    "learning",
    "realtime",
    # Plugins (plugins/<name>/ and the `academy.plugins` entry points) are inserted here, below.
    "corsheaders",
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
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # OAuth 2 for apps (authorization code + PKCE): the provider under /o/ (learning.oauth).
    "oauth2_provider",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
]

# --- Plugins ---------------------------------------------------------------------------------
# Found at start-up: first-party plugins in plugins/<name>/, outside ones through the entry-point
# group `academy.plugins`; ACADEMY_PLUGINS_EXCLUDE (comma-separated names or labels) leaves some
# out. A broken or incompatible plugin is refused and named by the system check academy.E100.
_plugins = discover_plugins(BASE_DIR / "plugins", exclude=env_list("ACADEMY_PLUGINS_EXCLUDE"), core_version=__version__)
INSTALLED_APPS[INSTALLED_APPS.index("realtime") + 1 : INSTALLED_APPS.index("realtime") + 1] = _plugins.apps
ACADEMY_PLUGINS_REFUSED: list[tuple[str, str]] = [(r.plugin, r.reason) for r in _plugins.refused]
# The whole outcome (excluded plugins, unknown exclude names, the plugin set's fingerprint):
# read by academy.plugins.registry and the system checks academy.E100 / academy.W101.
ACADEMY_PLUGINS_DISCOVERY = _plugins
# Check every domain event's payload against its TypedDict when sent (on in the test suite).
ACADEMY_CHECK_EVENTS = env_bool("ACADEMY_CHECK_EVENTS", default=False)

MIDDLEWARE = [
    "siteconfig.health.HealthzMiddleware",
    "siteconfig.capacity.OverloadMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "realtime.middleware.LiveCursorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

# CORS (django-cors-headers): off unless origins are listed. Only the API answers cross-origin
# calls, without cookies (a web app on another origin calls with a token, never the session).
CORS_ALLOWED_ORIGINS = env_list("ACADEMY_CORS_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = ["accept", "authorization", "content-type", "if-none-match", "idempotency-key"]
CORS_EXPOSE_HEADERS = ["etag", "retry-after", "location"]
CORS_PREFLIGHT_MAX_AGE = 3600

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
                "learning.context_processors.notifications",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------

# --- Server model (siteconfig/capacity.py; figures in the README) -----------------------------
# Web processes (uvicorn workers) default to the machine's cores; each runs Django's WSGI handler
# on ACADEMY_WEB_THREADS threads and queues at most ACADEMY_WEB_QUEUE_LIMIT requests for at most
# ACADEMY_WEB_QUEUE_TIMEOUT seconds before answering 503 with Retry-After.
ACADEMY_WEB_WORKERS = env_int("ACADEMY_WEB_WORKERS", 0)  # 0: one per core
ACADEMY_WEB_THREADS = env_int("ACADEMY_WEB_THREADS", 8)
# The anonymous lane: threads on top of ACADEMY_WEB_THREADS that only requests which cannot be
# logged in may use (anonymous GET/HEAD, static files, probes), so cached pages answer while
# learners hold every other thread. 0 turns the lane off.
ACADEMY_WEB_ANON_THREADS = env_int("ACADEMY_WEB_ANON_THREADS", 2)
ACADEMY_WEB_QUEUE_LIMIT = env_int("ACADEMY_WEB_QUEUE_LIMIT", 200)
ACADEMY_WEB_QUEUE_TIMEOUT = float(env_str("ACADEMY_WEB_QUEUE_TIMEOUT", "2"))
ACADEMY_WEB_RETRY_AFTER = env_int("ACADEMY_WEB_RETRY_AFTER", 5)
# Seconds run_academy gives its processes to finish requests and tasks after SIGTERM or Ctrl-C
# before it kills them (compose's stop_grace_period must be longer).
ACADEMY_SHUTDOWN_GRACE = env_int("ACADEMY_SHUTDOWN_GRACE", 25)
if ACADEMY_SHUTDOWN_GRACE < 1:
    raise ImproperlyConfigured("ACADEMY_SHUTDOWN_GRACE must be at least 1 second")
if ACADEMY_WEB_THREADS < 1 or ACADEMY_WEB_ANON_THREADS < 0 or ACADEMY_WEB_QUEUE_LIMIT < 0 or ACADEMY_WEB_QUEUE_TIMEOUT <= 0:
    raise ImproperlyConfigured(
        "ACADEMY_WEB_THREADS must be >= 1, ACADEMY_WEB_ANON_THREADS >= 0, ACADEMY_WEB_QUEUE_LIMIT >= 0, "
        "ACADEMY_WEB_QUEUE_TIMEOUT > 0"
    )

# --- Database -------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL)
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # psycopg's connection pool, not CONN_MAX_AGE: persistent connections leak under ASGI
        # because each request may run in a different thread.
        _db["CONN_MAX_AGE"] = 0
        # Rule: one connection per request thread (the anonymous lane's too: a cache miss
        # renders), plus the WebSocket consumers' database thread and a probe. Every web process opens at most this many; size PostgreSQL's
        # max_connections (or pgbouncer) for web processes x max_size + task workers.
        # A request that cannot get one within the timeout is answered 503 (handler500).
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN", 1),
            "max_size": env_int("DATABASE_POOL_MAX", ACADEMY_WEB_THREADS + ACADEMY_WEB_ANON_THREADS + 2),
            "timeout": float(env_str("DATABASE_POOL_TIMEOUT", "3")),
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
    # Shared by the web server and the task worker (two processes), unlike LocMemCache. Django's
    # default of 300 entries is far too few: past it, every write deletes a third of the files, so
    # the page cache of a site with a few hundred pages kept forgetting them (a 43% hit rate under
    # the load bench). Each write lists the folder, so the bound stays in the tens of thousands.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": DATA_DIR / "cache",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"MAX_ENTRIES": env_int("ACADEMY_FILE_CACHE_MAX_ENTRIES", 20000)},
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

# --- OAuth 2 for apps (django-oauth-toolkit; learning.oauth) -------------------------------------
# Apps registered by staff in the Wagtail admin send a learner to /o/authorize/ and get tokens at
# /o/token/: authorization code with PKCE (S256) only, so an app never sees a password. The
# scopes are the API's token scopes (learning.tokens.SCOPES, through learning.oauth's backend).
# RFC 9700's recommendations are all on (check --deploy stays clean): no implicit or password
# grant, no "plain" PKCE, tokens only in the Authorization header, tokens stored hashed, the
# `iss` parameter on the redirect, a replayed refresh token revokes its whole family.
OAUTH2_PROVIDER = {
    "SCOPES_BACKEND_CLASS": "learning.oauth.ApiScopes",
    "ACCESS_TOKEN_GENERATOR": "learning.oauth.new_token",
    "REFRESH_TOKEN_GENERATOR": "learning.oauth.new_token",
    "PKCE_REQUIRED": True,
    # An access token lives an hour; its refresh token (rotated on every use) 30 days.
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("ACADEMY_OAUTH_ACCESS_TOKEN_SECONDS", 3600),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env_int("ACADEMY_OAUTH_REFRESH_TOKEN_SECONDS", 30 * 24 * 3600),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # Redirect URIs: https, plus http on a development machine (a loopback app) and any custom
    # scheme a native app registers (ACADEMY_OAUTH_REDIRECT_SCHEMES, e.g. "https,com.example.app").
    "ALLOWED_REDIRECT_URI_SCHEMES": env_list("ACADEMY_OAUTH_REDIRECT_SCHEMES", ["http", "https"] if DEBUG else ["https"]),
    "ALLOW_URI_WILDCARDS": False,
    # The consent page is shown every time unless the learner already holds a live token of the app.
    "REQUEST_APPROVAL_PROMPT": "auto",
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    # What /.well-known/oauth-authorization-server tells apps: only what is mounted and allowed.
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    "OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": ["client_secret_basic", "client_secret_post", "none"],
}

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

# --- Access (issue 9: one access policy, private files, sessions that end) ------------------
# Documents are always served by Wagtail's view, which asks the access policy first
# (learning/documents.py); never a redirect to their /media/ URL.
WAGTAILDOCS_SERVE_METHOD = "serve_view"
# Media folders the app never serves directly from MEDIA_URL (siteconfig/urls.py): documents
# always (they go through /documents/<id>/<name>), original images in production (pages use
# renditions under images/). A proxy in front must not serve them either (README).
ACADEMY_PRIVATE_MEDIA_DIRS = ["documents/"] if DEBUG else ["documents/", "original_images/"]
# --- end of Access block ----------------------------------------------------------------------

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
    # Personal access tokens first: an anonymous call is answered 401 with
    # "WWW-Authenticate: Bearer" (the session class alone would make it a 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "learning.api.authentication.TokenAuthentication",
        # OAuth 2 access tokens of apps (learning.oauth): every other bearer token.
        "learning.api.authentication.OAuthTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: no browsable API (its inline scripts are not for our CSP); /api/docs/ is the UI.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["learning.api.parsers.JSONParser"],  # DRF's, with a depth limit
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("ACADEMY_THROTTLE_ANON", "100/hour"),
        "user": env_str("ACADEMY_THROTTLE_USER", "1000/hour"),
        # Writes of one kind, per user (learning.api.throttling.WriteRateThrottle).
        "enrollments": env_str("ACADEMY_THROTTLE_ENROLLMENTS", "60/hour"),
        "progress": env_str("ACADEMY_THROTTLE_PROGRESS", "600/hour"),
        "notifications": env_str("ACADEMY_THROTTLE_NOTIFICATIONS", "300/hour"),
        # Staff and integration endpoints, per token (learning.api.throttling.StaffRateThrottle).
        "staff": env_str("ACADEMY_THROTTLE_STAFF", "10000/hour"),
    },
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_PAGINATION_CLASS": "learning.api.pagination.CursorPagination",
    "EXCEPTION_HANDLER": "learning.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "learning.api.schema.AcademyAutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Academy API",
    "DESCRIPTION": (
        "Courses, lessons, enrollments, progress and notifications. Authenticate with a personal "
        "access token (Authorization: Bearer ..., made on /accounts/tokens/), an app's OAuth 2 token "
        "(authorization code with PKCE under /o/) or the browser session "
        "(with the CSRF token on writes). Errors: {\"error\": {\"code\", \"message\", \"fields\"}}. "
        "Versioning policy: docs/api.md."
    ),
    "VERSION": "1",
    # Document only our public API, not Wagtail's internal admin API views.
    "PREPROCESSING_HOOKS": ["siteconfig.api_schema.only_public_api"],
    # Enums as components (drf-spectacular's default hook), then open in responses (v1 may add values).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "siteconfig.api_schema.open_enums",
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    # Fields named "status" with different values get their own enum names (not hashed ones).
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "learning.models.Enrollment.Status",  # named so before plugins had a status
        "CertificateStatusEnum": "plugins.certificates.models.Certificate.Status",
        "QuizAttemptStatusEnum": ["open", "expired", "submitted"],
    },
    # Operations are tagged by their first path segment after this prefix (courses, lessons...).
    "SCHEMA_PATH_PREFIX": r"/api/v1/",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Ids in API paths (learning.api.urls.IdConverter): an integer the database can store.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**63 - 1}},
    # Swagger UI and Redoc from our own static files (drf-spectacular-sidecar): no CDN, offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # validatorUrl null: Swagger UI would otherwise load a badge from the public validator.
    # Apps: OAuth 2 authorization code with PKCE (the scheme's scopes: learning.tokens.SCOPES).
    "OAUTH2_FLOWS": ["authorizationCode"],
    "OAUTH2_AUTHORIZATION_URL": "/o/authorize/",
    "OAUTH2_TOKEN_URL": "/o/token/",
    "OAUTH2_REFRESH_URL": "/o/token/",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None, "persistAuthorization": False},
}

# --- Rate limits (issue 9) -----------------------------------------------------------------
# One limiter (academy/ratelimit.py) behind every limited door: a sliding window per rule,
# in Redis (one Lua script per check) when REDIS_URL is set, else in a small SQLite file in
# DATA_DIR shared by the processes of this machine. Rates are "N/window" ("5/15m", "100/hour").
# What each door does when the store is down is fixed per door in academy/ratelimit.py
# (README "Rate limits").
RATELIMIT_REDIS_URL = env_str("ACADEMY_LIMIT_REDIS_URL", REDIS_URL)
RATELIMIT_KEY_PREFIX = f"{CACHE_KEY_PREFIX}:rl"
RATELIMIT_LOCAL_PATH = DATA_DIR / "ratelimit.sqlite3"
# Failed logins, on every login form (siteconfig/login_limits.py; README "Rate limits"):
# - the lockout counts per (account, client address): one address guessing one account stops
#   after 5, while a class behind one school address (NAT) is 200 separate pairs;
# - a device that signed in before (a signed cookie bound to the username) counts its own
#   failures instead, so an attack on the account does not lock its owner's devices out;
# - per account across addresses, devices not known: 10 failures an hour pass, then each
#   attempt waits a delay that doubles from 2 s up to 5 minutes (slows a distributed attack
#   to about a dozen guesses an hour without a lock that anyone could hold);
# - per client address, whatever the usernames: 1000 in 15 min. A class of 200 mistyping twice
#   makes 400, a class of 200 signing in at once holds 200 more for a moment (every attempt
#   counts until its password is checked): 1000 leaves room for that and a second class, while
#   one address spraying passwords over many accounts gets about one guess a second.
RATELIMIT_LOGIN_ACCOUNT_ADDRESS = env_rate("ACADEMY_LIMIT_LOGIN_ACCOUNT_ADDRESS", "5/15m")
RATELIMIT_LOGIN_DEVICE = env_rate("ACADEMY_LIMIT_LOGIN_DEVICE", "5/15m")
RATELIMIT_LOGIN_ACCOUNT = env_rate("ACADEMY_LIMIT_LOGIN_ACCOUNT", "10/1h")
RATELIMIT_LOGIN_DELAY = env_int("ACADEMY_LIMIT_LOGIN_DELAY", 2)
RATELIMIT_LOGIN_DELAY_MAX = env_int("ACADEMY_LIMIT_LOGIN_DELAY_MAX", 300)
if not 0 < RATELIMIT_LOGIN_DELAY <= RATELIMIT_LOGIN_DELAY_MAX:
    raise ImproperlyConfigured("ACADEMY_LIMIT_LOGIN_DELAY must be >= 1 and <= ACADEMY_LIMIT_LOGIN_DELAY_MAX")
RATELIMIT_LOGIN_ADDRESS = env_rate("ACADEMY_LIMIT_LOGIN_ADDRESS", "1000/15m")
# How long a browser stays a known device after its last successful login (days), and how many
# accounts one browser remembers (a shared classroom computer).
LOGIN_DEVICE_COOKIE_DAYS = env_int("ACADEMY_LOGIN_DEVICE_DAYS", 180)
LOGIN_DEVICE_COOKIE_ACCOUNTS = 20
# Sign-up form posts per client address: a class of 60 joins in one lesson behind the school's
# address, each allowed one form mistake (120 posts in 10 minutes).
RATELIMIT_SIGNUP_ADDRESS = env_rate("ACADEMY_LIMIT_SIGNUP_ADDRESS", "120/10m")
# Invitations by email a staff member may send (bulk enrollment of unknown addresses), and the
# number above which one upload asks for an explicit confirmation showing the count.
RATELIMIT_INVITATIONS = env_rate("ACADEMY_LIMIT_INVITATIONS", "500/d")
BULK_INVITATIONS_CONFIRM_ABOVE = env_int("ACADEMY_BULK_CONFIRM_ABOVE", 50)
# Password-reset requests per email address (silently not sent past it) and per client address.
RATELIMIT_RESET_EMAIL = env_rate("ACADEMY_LIMIT_RESET_EMAIL", "5/h")
# Messages a staff member may send to a course's learners (learning.messaging).
RATELIMIT_COURSE_MESSAGES = env_rate("ACADEMY_LIMIT_COURSE_MESSAGES", "10/h")
RATELIMIT_RESET_ADDRESS = env_rate("ACADEMY_LIMIT_RESET_ADDRESS", "20/h")
# Open WebSockets per user, across processes; a slot of a process that died expires after TTL.
RATELIMIT_SOCKETS_PER_USER = env_int("ACADEMY_LIMIT_SOCKETS_PER_USER", 20)
RATELIMIT_SOCKET_TTL = env_int("ACADEMY_LIMIT_SOCKET_TTL", 60)
if RATELIMIT_SOCKETS_PER_USER < 1 or RATELIMIT_SOCKET_TTL < 3:
    raise ImproperlyConfigured("ACADEMY_LIMIT_SOCKETS_PER_USER must be >= 1 and ACADEMY_LIMIT_SOCKET_TTL >= 3")
for _scope, _rate in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].items():
    env_rate(f"ACADEMY_THROTTLE_{_scope.upper()}", _rate)
# The API throttles count in the same limiter (DRF's own are not atomic across processes).
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [
    "learning.api.throttling.AnonRateThrottle",
    "learning.api.throttling.UserRateThrottle",
    "learning.api.throttling.WriteRateThrottle",
]
# Login limits apply to every form that calls authenticate(): /accounts/login/, /admin/login/,
# /django-admin/login/. The backend refuses a locked-out attempt before any password is checked;
# the middleware turns that refusal into the 429 page (or 503 when the store is down).
AUTHENTICATION_BACKENDS = [
    "siteconfig.login_limits.LoginRateLimitBackend",
    # Model permissions from the shared cache (academy.permissions); ModelBackend checks passwords.
    "academy.permissions.CachedPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
MIDDLEWARE.append("siteconfig.login_limits.LoginRefusalMiddleware")

# --- Channels -------------------------------------------------------------------------------
# (realtime helper) Every push is stored in the outbox first (realtime.models.Event), so a frame
# the layer drops is never lost: the client resumes from its last id. Sizes are chosen so that a
# slow or dead socket only ever loses its own live frames:
# - channels_redis keeps one Redis key per server process (a group_send costs one entry per
#   process, not per socket) and a bounded in-process buffer per socket that drops that socket's
#   oldest frames when full. `capacity` bounds both: a burst of up to `capacity` events per
#   process is absorbed, a stalled socket holds at most `capacity` frames.
# - `expiry`: frames nobody picked up within 30 s are stale (the client resumes instead).
# - `group_expiry`: a day; open sockets re-join their groups every REALTIME_GROUP_REFRESH_SECONDS.
CHANNEL_CAPACITY = env_int("ACADEMY_CHANNEL_CAPACITY", 1000)
if REDIS_URL:
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError

    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # - retries: after a Redis restart the pooled connections are dead; a command
                #   retries on a fresh one instead of failing the socket's handshake;
                # - socket_timeout above channels_redis' 5 s blocking pop (redis-py's default is
                #   also 5 s: idle receive loops would time out and drop every socket);
                # - max_connections: redis-py raises past it (default 100), and a burst of
                #   handshakes each joins groups at the same time.
                "hosts": [{
                    "address": REDIS_URL,
                    "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), 3),
                    "retry_on_error": [RedisConnectionError],
                    "socket_timeout": 15,
                    "socket_connect_timeout": 5,
                    "max_connections": env_int("ACADEMY_CHANNEL_REDIS_MAX_CONNECTIONS", 1000),
                }],
                "prefix": f"{CACHE_KEY_PREFIX}:asgi",
                "capacity": CHANNEL_CAPACITY,
                "expiry": 30,
                "group_expiry": 86400,
            },
        }
    }
else:
    # One process's sockets only: pushes from the task worker arrive through the outbox relay.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": CHANNEL_CAPACITY, "expiry": 30, "group_expiry": 86400},
        }
    }
REALTIME_SESSION_RECHECK_SECONDS = env_int("ACADEMY_REALTIME_SESSION_RECHECK_SECONDS", 300)
REALTIME_OUTBOX_RETENTION_HOURS = env_int("ACADEMY_REALTIME_RETENTION_HOURS", 48)

# --- Background tasks (Django-Q2, and Wagtail's django-tasks routed onto it) -----------------

# The ORM broker keeps a task in the database until it ran (success) or used up its attempts, so
# a killed worker loses nothing: the task is handed out again after `retry` seconds. The Redis
# broker is faster but pops the task before running it: a worker killed mid-task loses that task
# and failed tasks are not retried. ACADEMY_TASK_BROKER=orm keeps the ORM broker with REDIS_URL.
TASK_BROKER = env_str("ACADEMY_TASK_BROKER", "redis" if REDIS_URL else "orm")
if TASK_BROKER not in {"orm", "redis"}:
    raise ImproperlyConfigured("ACADEMY_TASK_BROKER must be 'orm' or 'redis'")
if TASK_BROKER == "redis" and not REDIS_URL:
    raise ImproperlyConfigured("ACADEMY_TASK_BROKER=redis needs REDIS_URL")
_TASK_TIMEOUT = env_int("ACADEMY_TASK_TIMEOUT", 120)
_TASK_RETRY = env_int("ACADEMY_TASK_RETRY", 180)
if _TASK_RETRY <= _TASK_TIMEOUT:
    # A task still running when `retry` expires would be handed to a second worker.
    raise ImproperlyConfigured("ACADEMY_TASK_RETRY must be longer than ACADEMY_TASK_TIMEOUT")
Q_CLUSTER: dict[str, object] = {
    "name": "academy",
    "workers": env_int("ACADEMY_TASK_WORKERS", 2),
    # A task that runs longer than `timeout` seconds is killed.
    "timeout": _TASK_TIMEOUT,
    "retry": _TASK_RETRY,
    # Failed tasks are not acknowledged, so the ORM broker hands them out again after `retry`
    # seconds, until `max_attempts`; then they stay in the Failure list (admin) for inspection.
    "max_attempts": env_int("ACADEMY_TASK_MAX_ATTEMPTS", 5),
    "ack_failures": False,
    "save_limit": env_int("ACADEMY_TASK_SAVE_LIMIT", 5000),
    "catch_up": False,
    "label": "Tasks",
    "poll": float(env_str("ACADEMY_TASK_POLL", "0.2")),
    # Separate queues of one site: a process started with Q_CLUSTER_NAME=<name> serves only
    # queue <name> (the benchmarks use "bench"); Django-Q2 needs this key to exist for that.
    "ALT_CLUSTERS": {},
}
if REDIS_URL:
    # Short socket timeouts: an enqueue from a request must never hang on a stuck Redis.
    # (With "orm" set below, Django-Q2 uses the ORM broker and this only serves tools.)
    _separator = "&" if "?" in REDIS_URL else "?"
    Q_CLUSTER["redis"] = f"{REDIS_URL}{_separator}socket_timeout=5&socket_connect_timeout=2"
if TASK_BROKER == "orm":
    Q_CLUSTER["orm"] = "default"

# Wagtail 8 runs reference-index and search-index updates through django-tasks; this backend
# puts them on the Django-Q2 queue (after commit), so an editor's publish never waits on them.
TASKS = {
    "default": {
        "BACKEND": env_str("ACADEMY_DJANGO_TASKS_BACKEND", "academy.tasks.DjangoQBackend"),
    }
}

# Django-Q2 forks its worker processes. A psycopg pool opened before the fork would be shared
# by every child (same sockets: corrupted protocol state), and Django-Q2's close_all() before
# forking only returns pooled connections to the pool. So the worker process uses plain
# connections, which close_all() really closes. A worker is a sync process (no thread per
# request), so it keeps its connection between tasks and broker polls instead of reconnecting
# five times a second.
TASK_WORKER_PROCESS = sys.argv[1:2] == ["qcluster"]
if TASK_WORKER_PROCESS:
    DATABASES["default"].get("OPTIONS", {}).pop("pool", None)
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("ACADEMY_TASK_CONN_MAX_AGE", 60)

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Tests that run a real worker process (tests/tasks) share the test database with it, so the
    # SQLite test database is a file next to the data, not an in-memory database.
    DATABASES["default"].setdefault("TEST", {"NAME": str(DATA_DIR / "test-academy.sqlite3")})

# --- Logging, monitoring (issue 13: academy/logging.py, academy/metrics.py, academy/sentry.py) ---

# One JSON object per line in production, readable lines in development; both carry the
# request id. ACADEMY_LOG_FORMAT=json|plain overrides.
LOG_LEVEL = env_str("DJANGO_LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("ACADEMY_LOG_FORMAT", "plain" if DEBUG else "json")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured("ACADEMY_LOG_FORMAT must be 'json' or 'plain'")
from academy.logging import logging_config  # noqa: E402

LOGGING = logging_config(
    json_lines=LOG_FORMAT == "json", level=LOG_LEVEL, task_level=env_str("ACADEMY_TASK_LOG_LEVEL", "INFO")
)
# An incoming X-Request-ID is kept only when a proxy in front sets it (clients cannot pick it).
ACADEMY_TRUST_REQUEST_ID = env_bool("ACADEMY_TRUST_REQUEST_ID", default=NUM_PROXIES > 0)
# /metrics on the web port needs "Authorization: Bearer <token>" (404 when unset);
# ACADEMY_METRICS_LISTEN=host:port serves it without a token on a private address (run_academy).
ACADEMY_METRICS_TOKEN = env_str("ACADEMY_METRICS_TOKEN")
ACADEMY_METRICS_LISTEN = env_str("ACADEMY_METRICS_LISTEN")
MIDDLEWARE.insert(0, "academy.logging.RequestLogMiddleware")
MIDDLEWARE.insert(MIDDLEWARE.index("siteconfig.health.HealthzMiddleware") + 1, "academy.metrics.MetricsEndpointMiddleware")

SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    from academy.sentry import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", "development" if DEBUG else "production"),
        release=env_str("SENTRY_RELEASE") or None,
        traces_sample_rate=float(env_str("SENTRY_TRACES_SAMPLE_RATE", "0.1")),
    )
    # Failing tasks reach Sentry with their name (academy.sentry.TaskErrorReporter, found by
    # Django-Q2 through the entry point "djangoq.errorreporters: academy_sentry").
    Q_CLUSTER["error_reporter"] = {"academy_sentry": {}}

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
    # Preloading is a promise to browsers that cannot be taken back quickly: opt in.
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # check --deploy's W021 only says "preload is off", which is the choice made here.
        SILENCED_SYSTEM_CHECKS.append("security.W021")
    if NUM_PROXIES:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # The health probes are called over plain HTTP by the orchestrator.
    SECURE_REDIRECT_EXEMPT = [r"^readyz$"]

# --- Hardening (issue 9): Content-Security-Policy -------------------------------------------
# django-csp: a static policy (no nonces), so a response stays cacheable as it is (shared page
# cache, CDN). Learner pages carry no inline script, event handler, javascript: URL or inline
# style: scripts and styles come from /static/ only. The WebSocket of the live updates is
# same-origin, which connect-src 'self' covers (ws:/wss: of the page's own host, CSP Level 3).
from csp.constants import NONE, SELF  # noqa: E402

# After WhiteNoise: static files are answered before it and need no policy.
MIDDLEWARE.insert(MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1, "csp.middleware.CSPMiddleware")
CONTENT_SECURITY_POLICY = {
    # The Wagtail admin (with its page previews), Django's admin and the Swagger UI ship their
    # own inline scripts and styles; they keep working without a policy.
    "EXCLUDE_URL_PREFIXES": ["/admin/", "/django-admin/", "/api/docs/"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        # Video blocks embed the provider's player (YouTube, Vimeo...) in an iframe, over HTTPS.
        "frame-src": [SELF, "https:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        # As X_FRAME_OPTIONS: Wagtail's preview frames the site's own pages.
        "frame-ancestors": [SELF],
    },
}

# --- Capacity: page cache, after-response work (issue 8, items 1-3) ---------------------------
# Anonymous page cache (courses.pagecache): whole responses of home, catalog, course and lesson
# pages for visitors without a session, from the `default` cache; purged at once on publish.
# It sits before the session middleware, so a hit costs no database query.
ACADEMY_PAGE_CACHE = env_bool("ACADEMY_PAGE_CACHE", default=True)
ACADEMY_PAGE_CACHE_SECONDS = env_int("ACADEMY_PAGE_CACHE_SECONDS", 600)
# Visitors missing an entry another request is rendering wait this long for it (one render each).
ACADEMY_PAGE_CACHE_FILL_WAIT = float(env_str("ACADEMY_PAGE_CACHE_FILL_WAIT", "2"))
MIDDLEWARE.insert(
    MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1, "courses.pagecache.AnonymousPageCacheMiddleware"
)
# Domain-event receivers of a request (pushes, notifications, counts) run once its response is
# sent (academy.middleware): a request only pays for what its response needs.
MIDDLEWARE.insert(
    MIDDLEWARE.index("courses.pagecache.AnonymousPageCacheMiddleware") + 1, "academy.middleware.AfterResponseMiddleware"
)
# Purges go through Wagtail's frontend-cache backends: ours (in-process, at once) and, when
# ACADEMY_FRONTEND_CACHE_URL names a Varnish-style proxy, an HTTP PURGE through Wagtail's queue.
WAGTAILFRONTENDCACHE: dict[str, dict[str, object]] = {
    "academy": {"BACKEND": "courses.pagecache.DjangoCacheBackend"},
}
if env_str("ACADEMY_FRONTEND_CACHE_URL"):
    WAGTAILFRONTENDCACHE["proxy"] = {
        "BACKEND": "wagtail.contrib.frontend_cache.backends.HTTPBackend",
        "LOCATION": env_str("ACADEMY_FRONTEND_CACHE_URL"),
    }
