import multiprocessing

from django.core.exceptions import ImproperlyConfigured

from shop.payments import missing_settings

from .base import *

DEBUG = False


def _require(name: str, value) -> None:
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in the environment for production.")


_require("SECRET_KEY", SECRET_KEY)
_require("ALLOWED_HOSTS", ALLOWED_HOSTS)
_require("DATABASE_URL", env("DATABASE_URL", default=""))
for _missing in missing_settings(globals().get):
    _require(_missing.name, None)

# The container's health probe asks gunicorn directly, at its loopback address.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "127.0.0.1"]

# E-mail is queued in the database and sent by `manage.py db_worker`, never by a web worker.
TASKS_BACKEND = env("TASKS_BACKEND", default="database")
TASKS = tasks_setting(TASKS_BACKEND)

# Rate limits and log-in throttles count in the cache: a cache of each process's own would
# let every gunicorn worker (WEB_CONCURRENCY, as gunicorn.conf.py reads it) count apart.
_PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}
_workers = env.int("WEB_CONCURRENCY", default=multiprocessing.cpu_count() * 2 + 1)
if CACHES["default"]["BACKEND"] in _PER_PROCESS_CACHES and _workers > 1:
    raise ImproperlyConfigured(
        f"CACHE_URL names a cache of each process's own, and WEB_CONCURRENCY is {_workers}: "
        "rate limits would count per worker. Leave CACHE_URL unset (the database cache) "
        "or point it at Redis."
    )

# Reuse database connections between requests (a new PostgreSQL connection costs several
# milliseconds). Under ASGI (uvicorn) set CONN_MAX_AGE=0, as Django's docs advise.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

STORAGES["staticfiles"] = {
    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage",
}

SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("USE_X_FORWARDED_PROTO", default=True) else None
)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Health probes speak plain HTTP to gunicorn, past the TLS-terminating proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
