"""Django settings, read from the environment.

DATABASE_URL   default: the embedded SQLite file var/doudi.sqlite3 (WAL mode)
SECRET_KEY     default (dev only): generated once into var/secret_key
DEBUG          "1"/"true" to enable; default off
ALLOWED_HOSTS  comma-separated; default localhost names
DOUDI_VAR_DIR  where the embedded database, secret and uploads live; default ./var
DOUDI_AUDIT_KEY_FILE / DOUDI_AUDIT_KEY   the audit chain's key (see doudi.audit.keys)
DOUDI_AUDIT_CHECKPOINT_DIR               where `doudi audit checkpoint` writes and verify reads checkpoints
DATABASE_REPLICA_URL   a read-only PostgreSQL replica for reports, dashboards and exports (doudi.core.replica)
DOUDI_REPLICA_READS    "0" sends those reads to the primary too (default: on when a replica is named)
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("DOUDI_VAR_DIR", Path.cwd() / "var")).resolve()


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _dev_secret_key() -> str:
    """Generate the development secret once and keep it, so sessions survive restarts."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = _env_bool("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY") or _dev_secret_key()
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # serves the API docs page (Swagger UI) from local static files, not a CDN
    "doudi.core",
    "doudi.regions",
    "doudi.accounts",
    "doudi.audit",
    "doudi.registry",
    "doudi.parameters",
    "doudi.verification",
    "doudi.intake",
    "doudi.benefits",
    "doudi.payments",
    "doudi.care",
    "doudi.rescue",
    "doudi.volunteers",
    "doudi.reports",
    "doudi.supervision",
    "doudi.discovery",
    "doudi.disclosure",
    "doudi.console",
    "doudi.portal",
    "doudi.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "doudi.core.middleware.DefaultLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "doudi.core.middleware.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "doudi.urls"
WSGI_APPLICATION = "doudi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "doudi.portal.display.display",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'doudi.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and the worker read while one of them writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

# A streaming replica serves the long reads (reports, dashboards, exports); see doudi.core.replica.
# In a test run it mirrors the test database (Django's TEST MIRROR).
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"], conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60"))
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["doudi.core.replica.ReplicaRouter"]
DOUDI_REPLICA_READS = _env_bool("DOUDI_REPLICA_READS", True)

# Rate limits (portal, objections, the public API) count in the cache, so the cache must be shared by
# every server process or each worker multiplies the limit. On PostgreSQL — production, several workers
# — it is the database cache (table doudi_cache, created by `doudi migrate`); the embedded SQLite
# default serves one process, where memory is enough. DOUDI_CACHE=database|locmem overrides.
DOUDI_CACHE = os.environ.get("DOUDI_CACHE") or (
    "database" if DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql") else "locmem"
)
if DOUDI_CACHE == "database":
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "doudi_cache"}
    }
elif DOUDI_CACHE == "locmem":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(f"DOUDI_CACHE must be 'database' or 'locmem', not {DOUDI_CACHE!r}")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend loading the user with their region in one query (a session signed in under
    # django.contrib.auth.backends.ModelBackend, before this, signs in again once).
    "doudi.accounts.backends.StaffBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "console:login"

# django-axes: lock an account+IP after repeated failures.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.5  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "console/locked_out.html"
AXES_VERBOSE = False
# Failed logins are counted in the database (shared by every process); should the handler ever be the
# cache one, it uses the shared cache above.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_CACHE = "default"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

TASKS = {
    "default": {"BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")},
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-free meta tag; keep default
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG and _env_bool("DOUDI_HTTPS", default=False):
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Where doudi's data outside the database lives: department extracts, synthetic populations.
DOUDI_DATA_DIR = Path(os.environ.get("DOUDI_DATA_DIR", VAR_DIR / "data"))

# The whole-population batch jobs (payroll computation, monthly re-check) run on DuckDB in this process
# (default) or on Apache Spark: DOUDI_BATCH_ENGINE=spark, DOUDI_SPARK_MASTER (local[N], or set by
# spark-submit), their Parquet under DOUDI_BATCH_DIR (a local path or a cluster URI; default
# DOUDI_DATA_DIR/batch). docs/scale.md.
DOUDI_BATCH_ENGINE = os.environ.get("DOUDI_BATCH_ENGINE", "duckdb")
DOUDI_BATCH_DIR = os.environ.get("DOUDI_BATCH_DIR", "")  # default: DOUDI_DATA_DIR/batch

# Uploaded .xlsx files are read in a child process with these limits (core/excel.py): a hostile workbook
# kills the child, never a web worker.
DOUDI_SPREADSHEET_MEMORY_MB = int(os.environ.get("DOUDI_SPREADSHEET_MEMORY_MB", "2048"))
DOUDI_SPREADSHEET_CPU_SECONDS = int(os.environ.get("DOUDI_SPREADSHEET_CPU_SECONDS", "300"))

# The audit chain's key and its signed checkpoints live outside the database (doudi.audit.keys).
DOUDI_AUDIT_KEY = os.environ.get("DOUDI_AUDIT_KEY", "")
DOUDI_AUDIT_KEY_FILE = Path(os.environ.get("DOUDI_AUDIT_KEY_FILE", VAR_DIR / "audit_key"))
DOUDI_AUDIT_CHECKPOINT_DIR = Path(os.environ.get("DOUDI_AUDIT_CHECKPOINT_DIR", VAR_DIR / "audit-checkpoints"))
