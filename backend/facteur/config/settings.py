"""Settings, all from the environment (12-factor). See docs/architecture.md#configuration."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from facteur.config import env

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Core -------------------------------------------------------------------
DEBUG = env.boolean("FACTEUR_DEBUG", False)
SECRET_KEY = env.string("FACTEUR_SECRET_KEY")
ALLOWED_HOSTS = env.string_list("FACTEUR_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.string_list("FACTEUR_CSRF_TRUSTED_ORIGINS", [])
PUBLIC_URL = env.string("FACTEUR_PUBLIC_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "mozilla_django_oidc",
    "facteur.users",
    "facteur.domains",
    "facteur.blobs",
    "facteur.mail",
    "facteur.ingest",
    "facteur.sending",
    "facteur.search",
    "facteur.ops",
    "facteur.cli",
]

MIDDLEWARE = [
    "facteur.ops.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "facteur.config.urls"
WSGI_APPLICATION = "facteur.config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"

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
            ]
        },
    }
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = env.string("FACTEUR_STATIC_ROOT", str(BASE_DIR.parent.parent / "var" / "static"))

# --- Webmail (frontend/, built by scripts/frontend; docs/webmail.md) -------
# facteur.config.webmail answers its index.html for the app's pages; collectstatic
# copies its content-hashed assets under /static/webmail/assets/, which WhiteNoise
# serves (pre-compressed .br/.gz included) with a cache that never revalidates.
FACTEUR_WEBMAIL_DIR = env.string(
    "FACTEUR_WEBMAIL_DIR", str(BASE_DIR.parent.parent / "frontend" / "dist")
)
STATICFILES_DIRS = (
    [("webmail/assets", str(Path(FACTEUR_WEBMAIL_DIR) / "assets"))]
    if (Path(FACTEUR_WEBMAIL_DIR) / "assets").is_dir()
    else []
)
WHITENOISE_IMMUTABLE_FILE_TEST = r"^/static/webmail/assets/.+\.[0-9a-f]{12}\.\w+$"


# --- Database (PostgreSQL only, psycopg 3) ----------------------------------
def _database_from_url(url: str) -> dict[str, object]:
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise env.ImproperlyConfiguredEnv("DATABASE_URL must be a postgresql:// URL")
    query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    # A socket directory may be given as ?host=/path (libpq style).
    host = query.pop("host", None) or unquote(parsed.hostname or "")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")) or "postgres",
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": host,
        "PORT": str(parsed.port or ""),
        "CONN_MAX_AGE": env.integer("FACTEUR_DB_CONN_MAX_AGE", 60, minimum=0),
        "CONN_HEALTH_CHECKS": True,
        # Server-side parameters let psycopg prepare the statements a process repeats
        # (ingest's, the thread list's): PostgreSQL then plans them once, not per call.
        "OPTIONS": {"server_side_binding": True, **query},
        "TEST": {"NAME": env.string("FACTEUR_TEST_DATABASE_NAME", "test_facteur")},
    }


DATABASES = {"default": _database_from_url(env.string("DATABASE_URL"))}

# --- Redis and Celery -------------------------------------------------------
REDIS_URL = env.string("REDIS_URL")
# kombu names a Unix-socket Redis "redis+socket://"; redis-py and Django say "unix://".
CELERY_BROKER_URL = env.string(
    "CELERY_BROKER_URL",
    REDIS_URL.replace("unix://", "redis+socket://", 1),
)
CELERY_TASK_ALWAYS_EAGER = env.boolean("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE = {
    "blobs-collect-garbage": {
        "task": "facteur.blobs.tasks.blobs_collect_garbage",
        "schedule": env.integer("FACTEUR_BLOB_GC_INTERVAL", 3600, minimum=60),
    },
    "mail-purge-trash": {
        "task": "facteur.mail.tasks.messages_purge_trash",
        "schedule": 3600,
    },
    # Sends whose task was lost (Redis flushed, a worker gone) are queued again.
    "sending-sweep": {
        "task": "facteur.sending.tasks.sends_sweep",
        "schedule": 60,
    },
}

# --- Mail store -------------------------------------------------------------
# Messages in the trash for longer than this are deleted for good.
FACTEUR_TRASH_RETENTION_DAYS = env.integer("FACTEUR_TRASH_RETENTION_DAYS", 30, minimum=1)
# Upper bound of one uploaded blob (attachments, raw messages), in bytes.
FACTEUR_MAX_UPLOAD_SIZE = env.integer("FACTEUR_MAX_UPLOAD_SIZE", 25 * 1024 * 1024, minimum=1024)
# Upper bound of one inbound message, in bytes (the SMTP listeners enforce it too).
FACTEUR_MAX_MESSAGE_SIZE = env.integer("FACTEUR_MAX_MESSAGE_SIZE", 50 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Mail flow: inbound delivery, MTA API, sending ------------------------------
# The delivery service (LMTP from Postfix) and, on one machine, the SMTP listener.
FACTEUR_LMTP_HOST = env.string("FACTEUR_LMTP_HOST", "127.0.0.1")
FACTEUR_LMTP_PORT = env.integer("FACTEUR_LMTP_PORT", 2424, minimum=1)
FACTEUR_SMTP_LISTENER_PORT = env.integer("FACTEUR_SMTP_LISTENER_PORT", 2525, minimum=1)
FACTEUR_MAX_RECIPIENTS = env.integer("FACTEUR_MAX_RECIPIENTS", 1000, minimum=1)
# Threads of the delivery service that store mail, one database connection each; the
# messages of concurrent LMTP sessions are stored together (one transaction per batch).
# Postfix's lmtp_destination_concurrency_limit (mta/in) should stay a few times this.
FACTEUR_DELIVERY_WORKERS = env.integer("FACTEUR_DELIVERY_WORKERS", 2, minimum=1)
# The Celery worker's Prometheus metrics (facteur/ops/metrics.py); port 0: not served.
FACTEUR_WORKER_METRICS_PORT = env.integer("FACTEUR_WORKER_METRICS_PORT", 0, minimum=0)
FACTEUR_WORKER_METRICS_HOST = env.string("FACTEUR_WORKER_METRICS_HOST", "127.0.0.1")
# Shared secret of the MTA components (policy service, operator) calling /api/internal/.
FACTEUR_SERVICE_TOKEN = env.string("FACTEUR_SERVICE_TOKEN", "")
# Outbound: "relay" hands mail to MTA-out (Postfix), "direct" talks to recipients' MX.
FACTEUR_SENDING_MODE = env.choice("FACTEUR_SENDING_MODE", "relay", ("relay", "direct"))
FACTEUR_RELAY_HOST = env.string("FACTEUR_RELAY_HOST", "127.0.0.1")
FACTEUR_RELAY_PORT = env.integer("FACTEUR_RELAY_PORT", 587, minimum=1)
FACTEUR_RELAY_USERNAME = env.string("FACTEUR_RELAY_USERNAME", "")
FACTEUR_RELAY_PASSWORD = env.string("FACTEUR_RELAY_PASSWORD", "")
if not (FACTEUR_RELAY_USERNAME + FACTEUR_RELAY_PASSWORD).isascii():
    # smtplib's AUTH sends ASCII only: a non-ASCII login would break every send at AUTH.
    raise env.ImproperlyConfiguredEnv(
        "FACTEUR_RELAY_USERNAME and FACTEUR_RELAY_PASSWORD must be ASCII"
    )
FACTEUR_RELAY_STARTTLS = env.boolean("FACTEUR_RELAY_STARTTLS", True)
# Our name in EHLO (relay and direct) and in bounce notices; empty: the machine's FQDN.
FACTEUR_SMTP_HELO_NAME = env.string("FACTEUR_SMTP_HELO_NAME", "")
# Direct mode: the SMTP port of the recipients' MX hosts (25; tests use loopback ports),
# the DNS resolvers for MX lookups ("ip" or "ip:port", comma-separated; empty: the
# system's) and the time one lookup may take.
FACTEUR_DIRECT_SMTP_PORT = env.integer("FACTEUR_DIRECT_SMTP_PORT", 25, minimum=1)
FACTEUR_DNS_RESOLVERS = env.socket_addresses("FACTEUR_DNS_RESOLVERS", default_port=53)
FACTEUR_DNS_TIMEOUT = env.integer("FACTEUR_DNS_TIMEOUT", 10, minimum=1)
# CA bundle that signs the relay's certificate (a private CA); empty: the system CAs.
FACTEUR_RELAY_CA_FILE = env.string("FACTEUR_RELAY_CA_FILE", "")
# Messages are held this long after "send" so that undo works with the browser closed.
FACTEUR_SEND_UNDO_SECONDS = env.integer("FACTEUR_SEND_UNDO_SECONDS", 10, minimum=0)
# Key that encrypts DKIM private keys at rest (Fernet, urlsafe base64 of 32 bytes);
# derived from the secret key when unset.
FACTEUR_DKIM_ENCRYPTION_KEY = env.string("FACTEUR_DKIM_ENCRYPTION_KEY", "")
FACTEUR_DKIM_SELECTOR = env.string("FACTEUR_DKIM_SELECTOR", "facteur")

# --- Search (docs/search.md) ----------------------------------------------
# The backend, and the time one search may take before the API answers 503.
FACTEUR_SEARCH_BACKEND = env.choice(
    "FACTEUR_SEARCH_BACKEND", "postgres", ("postgres", "opensearch")
)
FACTEUR_SEARCH_TIMEOUT_MS = env.integer("FACTEUR_SEARCH_TIMEOUT_MS", 3000, minimum=100)
# The OpenSearch backend: its URL (https://host:9200), the prefix of its index and alias
# names (several installations may share a cluster), credentials and the CA that signs
# the cluster's certificate (empty: the system CAs).
FACTEUR_OPENSEARCH_URL = env.string("FACTEUR_OPENSEARCH_URL", "")
if FACTEUR_SEARCH_BACKEND == "opensearch" and not FACTEUR_OPENSEARCH_URL:
    raise env.ImproperlyConfiguredEnv(
        "FACTEUR_SEARCH_BACKEND=opensearch needs FACTEUR_OPENSEARCH_URL"
    )
FACTEUR_OPENSEARCH_INDEX_PREFIX = env.string("FACTEUR_OPENSEARCH_INDEX_PREFIX", "facteur")
FACTEUR_OPENSEARCH_USERNAME = env.string("FACTEUR_OPENSEARCH_USERNAME", "")
FACTEUR_OPENSEARCH_PASSWORD = env.string("FACTEUR_OPENSEARCH_PASSWORD", "")
FACTEUR_OPENSEARCH_CA_FILE = env.string("FACTEUR_OPENSEARCH_CA_FILE", "")

# --- Authentication ---------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
FACTEUR_LOCAL_ACCOUNTS = env.boolean("FACTEUR_LOCAL_ACCOUNTS", True)

OIDC_ENABLED = env.boolean("OIDC_ENABLED", False)
# Password logins (API and /admin/) exist only where local accounts are on.
AUTHENTICATION_BACKENDS = (
    ["django.contrib.auth.backends.ModelBackend"] if FACTEUR_LOCAL_ACCOUNTS else []
)
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.insert(0, "facteur.users.oidc.FacteurOIDCBackend")
if not AUTHENTICATION_BACKENDS:
    raise env.ImproperlyConfiguredEnv(
        "Nobody could log in: set OIDC_ENABLED=true or FACTEUR_LOCAL_ACCOUNTS=true"
    )
OIDC_RP_CLIENT_ID = env.string("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = env.string("OIDC_RP_CLIENT_SECRET", "")
OIDC_RP_SIGN_ALGO = env.string("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env.string("OIDC_RP_SCOPES", "openid email profile")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.string("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = env.string("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = env.string("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = env.string("OIDC_OP_JWKS_ENDPOINT", "")
OIDC_OP_LOGOUT_ENDPOINT = env.string("OIDC_OP_LOGOUT_ENDPOINT", "")
OIDC_USE_PKCE = env.boolean("OIDC_USE_PKCE", True)
OIDC_VERIFY_SSL = env.boolean("OIDC_VERIFY_SSL", True)
OIDC_STORE_ID_TOKEN = True
OIDC_CREATE_USER = env.boolean("OIDC_CREATE_USER", True)
OIDC_OP_LOGOUT_URL_METHOD = "facteur.users.oidc.provider_logout_url"
# /oidc/authenticate/ and /oidc/callback/ answer 404 while OIDC_ENABLED is false.
OIDC_AUTHENTICATE_CLASS = "facteur.users.oidc.OIDCAuthenticationRequestView"
OIDC_CALLBACK_CLASS = "facteur.users.oidc.OIDCAuthenticationCallbackView"
LOGIN_REDIRECT_URL = env.string("FACTEUR_LOGIN_REDIRECT_URL", "/")
LOGOUT_REDIRECT_URL = env.string("FACTEUR_LOGOUT_REDIRECT_URL", "/")
LOGIN_REDIRECT_URL_FAILURE = env.string("FACTEUR_LOGIN_REDIRECT_URL_FAILURE", "/")

# --- Sessions, CSRF, CORS ---------------------------------------------------
SESSION_COOKIE_SECURE = env.boolean("FACTEUR_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.integer("FACTEUR_SESSION_AGE", 14 * 24 * 3600, minimum=300)
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "facteur",
    }
}
CORS_ALLOWED_ORIGINS = env.string_list("FACTEUR_CORS_ALLOWED_ORIGINS", [])
CORS_ALLOW_CREDENTIALS = True
SECURE_CONTENT_TYPE_NOSNIFF = True
# Behind an ingress that ends TLS, trust its X-Forwarded-Proto so that redirects
# (OIDC callback URLs included) say https.
if env.boolean("FACTEUR_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

# --- REST API ---------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "facteur.users.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "facteur.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# The browsable API lets a person log in and look around before the webmail exists;
# machines get JSON (the first renderer) unless they ask for text/html.
FACTEUR_BROWSABLE_API = env.boolean("FACTEUR_BROWSABLE_API", True)
if FACTEUR_BROWSABLE_API:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )
SPECTACULAR_SETTINGS = {
    "TITLE": "Facteur API",
    "DESCRIPTION": "REST API of the Facteur collaborative inbox.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": "/api/v1.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "MailboxRoleEnum": "facteur.domains.models.MailboxRole",
        "ThreadRoleEnum": "facteur.mail.models.ThreadRole",
        "MailboxKindEnum": "facteur.domains.models.MailboxKind",
        "RecipientKindEnum": "facteur.mail.models.RecipientKind",
        "DeliveryStatusEnum": "facteur.mail.models.DeliveryStatus",
    },
}

# --- Logging ----------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.string("FACTEUR_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # opensearch-py logs each request, and its "trace" logger whole bodies: mail text.
        "opensearch": {"level": "WARNING"},
        "opensearchpy.trace": {"level": "CRITICAL"},
    },
}
