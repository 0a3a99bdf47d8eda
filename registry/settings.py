"""One env-driven settings module for development, tests and production.

With no DATABASE_URL the embedded PostgreSQL in `.data/postgres` is started; with no CELERY_BROKER_URL a
filesystem broker in `.data/broker` is used, so the whole system runs with nothing installed but Python.
REGISTRY_ENV=production switches on the deploy hardening and refuses to start without a real SECRET_KEY,
ALLOWED_HOSTS and DATABASE_URL. Bad values fail loudly at start.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("REGISTRY_DATA_DIR", BASE_DIR / ".data"))


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = env(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


REGISTRY_ENV = env("REGISTRY_ENV", "development")
if REGISTRY_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"REGISTRY_ENV must be development, test or production, got {REGISTRY_ENV!r}")
PRODUCTION = REGISTRY_ENV == "production"

_DEV_SECRET = "dev-only-insecure-secret-key-never-used-in-production-0123456789abcdef"  # noqa: S105
SECRET_KEY = env("SECRET_KEY", None if PRODUCTION else _DEV_SECRET)
if not SECRET_KEY or (PRODUCTION and (SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50)):
    raise ImproperlyConfigured("SECRET_KEY must be set to a random string of at least 50 characters in production")

DEBUG = env_bool("DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be false in production")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1],testserver")
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the registry's host names in production")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # first: its createsuperuser/changepassword wrap Django's in an audit context (earlier apps' commands win)
    "registry.audit",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "django_celery_beat",
    "django_celery_results",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_htmx",
    "registry.core",
    "registry.sites",
    "registry.patients",
    "registry.crfs",
    "registry.pathology",
    "registry.queries",
    "registry.exports",
    "analysis",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "registry.core.twofactor.RequireTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "registry.core.sessions.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "registry.audit.middleware.AuditContextMiddleware",
    "registry.core.throttling.RateLimitHeadersMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "registry.urls"
WSGI_APPLICATION = "registry.wsgi.application"
ASGI_APPLICATION = "registry.asgi.application"

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
                "registry.sites.context_processors.memberships",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL")
EMBEDDED_POSTGRES = DATABASE_URL is None
if EMBEDDED_POSTGRES:
    if PRODUCTION:
        raise ImproperlyConfigured("DATABASE_URL must point at the production PostgreSQL")
    from registry.core.embedded_postgres import ensure_running

    DATABASE_URL = ensure_running(DATA_DIR / "postgres")
if not DATABASE_URL.startswith(("postgres://", "postgresql://")):
    raise ImproperlyConfigured("DATABASE_URL must be a postgresql:// URL: the audit trail needs PostgreSQL triggers")

DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60 if PRODUCTION else 0),
        conn_health_checks=True,
    )
}
# A Unix-socket URL (`?host=/path`) arrives as an option; Django's HOST takes socket directories directly.
if "host" in DATABASES["default"].get("OPTIONS", {}):
    DATABASES["default"]["HOST"] = DATABASES["default"]["OPTIONS"].pop("host")
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", "test_registry")}
# Every audited row's trigger asks pgtrigger whether to skip it by reading `pgtrigger.ignore`; unset, that read
# raises inside a PL/pgSQL exception block (a subtransaction per row, ~4x the cost of the insert). An empty list
# set per connection skips nothing and makes every audited write cheaper (measured in bench/scale_data.py).
_pg_options = DATABASES["default"].setdefault("OPTIONS", {})
# JIT compilation pays off for long analytic scans, not for this workload: measured at 100,000 patients it added
# 15-140 ms to the queue and material pages' plans and gained nothing on the dataset reads.
_pg_options["options"] = f"{_pg_options.get('options', '')} -c pgtrigger.ignore={{}} -c jit=off".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -------------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lock-out after repeated failures (django-axes): per user name and IP, cool-off then retry.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Two-factor sign-in for data managers, central pathologists and administrators (registry/core/twofactor.py).
REGISTRY_REQUIRE_2FA = env_bool("REGISTRY_REQUIRE_2FA", PRODUCTION)
OTP_TOTP_ISSUER = "NEN Registry"
# Administrators never read users' TOTP secrets or QR codes in the admin (a new device is enrolled by its owner).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Idle timeout (registry/core/sessions.py pushes the expiry forward while the user is active) and an
# absolute limit after sign-in; 30 min idle like REDCap (ASVS V3.3).
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * env_int("REGISTRY_SESSION_IDLE_MINUTES", 30))
REGISTRY_SESSION_MAX_AGE = 60 * 60 * env_int("REGISTRY_SESSION_MAX_HOURS", 12)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- Security headers (production hardening passes `check --deploy` with no warnings) ----------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^health$"]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- I18N / time: UTC everywhere (ICH E6(R3) 4.2.2(d); avoids beat DST pitfalls) -----------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise serves from finders in development; the folder just exists
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(DATA_DIR / "media")))
MEDIA_URL = "media/"

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "registry@localhost")

# Throttle counters and other short-lived state: Redis in production (shared by all gunicorn workers).
REDIS_CACHE_URL = env("REDIS_CACHE_URL")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_CACHE_URL}
    if REDIS_CACHE_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# --- REST API ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "registry.core.authentication.AuditedTokenAuthentication",
        "registry.core.authentication.AuditedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "registry.core.api.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "registry.core.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "registry.core.throttling.RegistryAnonRateThrottle",
        "registry.core.throttling.RegistryUserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_THROTTLE_ANON", "60/min"),
        "user": env("API_THROTTLE_USER", "6000/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "NEN Registry API",
    "DESCRIPTION": "Site data capture, central pathology review, data quality and outcome analyses.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation documents its error statuses (registry/core/schema.py; issue 8, schemathesis).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "registry.core.schema.document_error_responses"],
    # One schema name per study code list, whichever serializer uses it (drf-spectacular enum naming).
    "ENUM_NAME_OVERRIDES": {
        "ReviewCaseStatusEnum": "registry.pathology.models.CaseStatus",
        "DataQueryStatusEnum": "registry.queries.models.QueryStatus",
        "QueryResponseReasonEnum": "registry.queries.models.ResponseReason",
        "ExportJobStatusEnum": "registry.exports.models.JobStatus",
        "AnalysisRunStatusEnum": "analysis.models.RunStatus",
        "AnalysisResultStatusEnum": "analysis.models.ResultStatus",
        "PathologyMaterialEnum": "registry.pathology.models.Material",
        "MorphologyFindingEnum": "registry.pathology.models.MorphologyFinding",
        "FormFamilyEnum": "registry.crfs.catalogue.FAMILY_CODES",
    },
}

# --- Audit trail (django-pghistory row-level triggers; events append-only) ----------------------------
PGHISTORY_APPEND_ONLY = True
PGHISTORY_ADMIN_ALL_EVENTS = False

# --- Celery ------------------------------------------------------------------------------------------
BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://localhost//")
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _folder in ("queue", "processed", "control"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Must exceed the longest task (time limit 1 h) or a running task is delivered twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 2 * 60 * 60,
        "socket_timeout": 5,
        "socket_connect_timeout": 5,
    }

# --- Registry ----------------------------------------------------------------------------------------
REGISTRY_FOLLOW_UP_INTERVAL_DAYS = env_int("REGISTRY_FOLLOW_UP_INTERVAL_DAYS", 183)
REGISTRY_MIN_CELL_SIZE = env_int("REGISTRY_MIN_CELL_SIZE", 5)
REGISTRY_PATHOLOGY_OVERDUE_DAYS = env_int("REGISTRY_PATHOLOGY_OVERDUE_DAYS", 28)
REGISTRY_PATHOLOGY_BLOCK_RETURN_DAYS = env_int("REGISTRY_PATHOLOGY_BLOCK_RETURN_DAYS", 60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Exception messages can echo patient data (registry/core/logsafety.py): withheld on every handler.
    "filters": {"redact": {"()": "registry.core.logsafety.RedactSensitive"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's default handlers for its own loggers bypass ours: route them through the filtered one.
        "django": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO"), "propagate": False},
        "embedded_postgres": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
