"""Settings shared by every environment; dev, test and production change only what differs.

Configuration comes from the environment (and a ``.env`` file beside manage.py when present),
read with django-environ. See the README's configuration table.
"""

from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default=None)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "home",
    "shop",
    "accounts",
    "search",
    "site_config",
    "wagtail.contrib.settings",
    "wagtail.contrib.routable_page",
    "wagtail.contrib.redirects",
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
    "django_filters",
    "django_countries",
    "django_tasks_db",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    # Outermost, so work it defers (e-mail with the immediate task backend) waits for the
    # whole response to be sent.
    "site_config.after_response.AfterResponseMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "site_config.security.ContentSecurityPolicyMiddleware",
    "site_config.security.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

# Public pages: our own scripts and styles only. Stripe's Checkout (form-action) and the
# admin's inline scripts are added per request by site_config.security.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "frame-ancestors": [SELF],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

ROOT_URLCONF = "site_config.urls"
WSGI_APPLICATION = "site_config.wsgi.application"

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
            ],
        },
    },
]

# Without DATABASE_URL a SQLite file beside manage.py: zero set-up for development.
DATABASES = {
    # An empty DATABASE_URL means "not set", as it does for the other variables.
    "default": env.db_url_config(
        env("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    ),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent requests (webhook + success page) wait for the write lock instead of failing,
    # and take it when the transaction starts so a read never has to upgrade to a write.
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
# One date format everywhere ("1 Dec 2026, 14:05"): site_config/formats/en/formats.py.
FORMAT_MODULE_PATH = ["site_config.formats"]

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Sessions live in the database so any number of app servers share them.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# One cache for every worker and server, so rate limits and log-in throttles hold across all
# of them: the database (its table is made by `migrate`) unless CACHE_URL names one, e.g. Redis.
CACHES = {
    "default": env.cache_url_config(env("CACHE_URL", default="") or "dbcache://storefront_cache")
}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache":
    # Counters must not lose a count when two workers add one at once.
    CACHES["default"]["BACKEND"] = "site_config.cache.DatabaseCache"
    # Django's default of 300 entries would cull live counters: one per client and limit.
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 100_000)
elif CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # One Redis client per connection pool, rather than one built for every cache call.
    CACHES["default"]["BACKEND"] = "site_config.cache.RedisCache"

# Console by default; EMAIL_URL (smtp+tls://user:password@host:587) configures SMTP. An empty
# EMAIL_URL (a blank line in .env) counts as unset rather than failing to parse.
EMAIL_CONFIG = env.email_url_config(env("EMAIL_URL", default="") or "consolemail://")
vars().update(EMAIL_CONFIG)
# Seconds before a stalled mail server counts as a failed send (and the task retries).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="shop@localhost")

# Slow work (confirmation e-mail) goes through Django's task framework. "immediate" runs it
# in-process once the response has been sent (site_config/after_response.py); "database"
# queues it in the database for `manage.py db_worker`. Either way a slow mail server never
# holds up a webhook's answer. Production defaults to "database".
TASK_BACKENDS = {
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
    "database": "django_tasks_db.DatabaseBackend",
}


def tasks_setting(backend: str) -> dict:
    """``TASKS`` for a ``TASKS_BACKEND`` name; an unknown name fails loudly."""
    if backend not in TASK_BACKENDS:
        raise ImproperlyConfigured(f"TASKS_BACKEND must be one of {sorted(TASK_BACKENDS)}.")
    return {"default": {"BACKEND": TASK_BACKENDS[backend]}}


TASKS_BACKEND = env("TASKS_BACKEND", default="immediate")
TASKS = tasks_setting(TASKS_BACKEND)

DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
# Password checks are throttled per account and per address, for the shop and the admin.
AUTHENTICATION_BACKENDS = ["accounts.throttle.ThrottledModelBackend"]
# Django's emails (password reset) and ours link back to this site.
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3

# --- Wagtail -------------------------------------------------------------------------------
WAGTAIL_SITE_NAME = env("WAGTAIL_SITE_NAME", default="Storefront")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["pdf", "txt"]
WAGTAILIMAGES_MAX_UPLOAD_SIZE = 5 * 1024 * 1024
# No Gravatar: our Content-Security-Policy allows only our own images, and an editor's
# e-mail address is not sent to a third party. Wagtail shows its default avatar instead.
WAGTAIL_GRAVATAR_PROVIDER_URL = None

# --- Shop ----------------------------------------------------------------------------------
SHOP_CURRENCY = env("SHOP_CURRENCY", default="usd").lower()
# Absolute base of every link that leaves the site (Stripe's return URLs, e-mails); empty:
# the validated origin of the request that started the flow (site_config/site_url.py).
SITE_URL = env("SITE_URL", default="")
# The admin's own links, and the shop's when nothing better is known: the same address.
WAGTAILADMIN_BASE_URL = SITE_URL or "http://127.0.0.1:8000"
# How long the signed link in an order's e-mail opens that order without logging in.
ORDER_LINK_MAX_AGE_DAYS = env.int("ORDER_LINK_MAX_AGE_DAYS", default=30)

STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=10.0)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
PAYMENT_GATEWAY = env("PAYMENT_GATEWAY", default="stripe" if STRIPE_SECRET_KEY else "local")
# The local test payment page is refused when DEBUG is off unless explicitly enabled.
LOCAL_GATEWAY_ENABLED = env.bool("LOCAL_GATEWAY_ENABLED", default=False)

# Per client address: "<requests>/<seconds>". Empty disables a limit.
CHECKOUT_RATE_LIMIT = env("CHECKOUT_RATE_LIMIT", default="30/600")
LOGIN_RATE_LIMIT = env("LOGIN_RATE_LIMIT", default="30/600")
# Each request sends an e-mail: per client address, and per e-mail address asked for.
PASSWORD_RESET_RATE_LIMIT = env("PASSWORD_RESET_RATE_LIMIT", default="10/3600")
PASSWORD_RESET_EMAIL_RATE_LIMIT = env("PASSWORD_RESET_EMAIL_RATE_LIMIT", default="3/3600")
SIGNUP_RATE_LIMIT = env("SIGNUP_RATE_LIMIT", default="10/3600")
SIGNUP_EMAIL_RATE_LIMIT = env("SIGNUP_EMAIL_RATE_LIMIT", default="5/3600")
# Behind exactly one trusted proxy that appends to X-Forwarded-For, read the client from it.
CLIENT_IP_FROM_FORWARDED_FOR = env.bool("CLIENT_IP_FROM_FORWARDED_FOR", default=False)
# How long the rendered catalogue may be reused; it is also keyed on the catalogue's state.
CATALOGUE_CACHE_SECONDS = env.int("CATALOGUE_CACHE_SECONDS", default=300)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "shop": {
            "handlers": ["console"],
            "level": env("SHOP_LOG_LEVEL", default="INFO"),
            "propagate": False,
        },
    },
}
