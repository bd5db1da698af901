"""Benchmark settings: production, plus only what ``make bench`` needs (see bench/README.md).

The bench speaks plain HTTP on 127.0.0.1, so HTTPS-only behaviour is off; everything else
(middleware, templates, caching, static files, sessions) is production's, so the figures
are production's.
"""

from pathlib import Path

from .production import *

# Plain HTTP on loopback: no redirect to https, cookies must travel without TLS.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

# The load client is one address sending thousands of checkouts; limits would turn them to 429.
CHECKOUT_RATE_LIMIT = ""
LOGIN_RATE_LIMIT = ""
PASSWORD_RESET_RATE_LIMIT = ""
PASSWORD_RESET_EMAIL_RATE_LIMIT = ""
SIGNUP_RATE_LIMIT = ""
SIGNUP_EMAIL_RATE_LIMIT = ""

# Mounts /bench/ceiling/ (bench/app.py).
ROOT_URLCONF = "bench.app"
# Outermost, so the session, auth and every other query of a request is counted.
MIDDLEWARE = ["bench.app.QueryCountMiddleware", *MIDDLEWARE]

# Collected static files and seeded images of the bench database stay out of the project's.
BENCH_WORK_DIR = Path(env("BENCH_WORK_DIR", default=str(BASE_DIR / "bench" / ".work")))
STATIC_ROOT = BENCH_WORK_DIR / "staticfiles"
MEDIA_ROOT = BENCH_WORK_DIR / "media"

# Tasks as production queues them (TASKS_BACKEND, default "database": the webhook enqueues
# the confirmation e-mail; no db_worker runs in the bench). E-mail goes nowhere.
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"

# One log line per order placed or paid would be thousands of lines per scenario.
LOGGING["loggers"]["shop"]["level"] = "WARNING"
