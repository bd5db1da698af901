"""The app as tests/support/servers.py runs it in server processes: test settings, observable.

A test in another process cannot read a server's locmem outbox or its in-process log
records, so what it counts must leave the process: e-mails as files, the shop's
transitions as log lines, and each worker's pid in PostgreSQL's pg_stat_activity. The
cache is production's default, shared by every server.
"""

import os

from . import base
from .test import *

# As deployed: every worker of every server counts rate limits in one shared cache (the
# database's unless CACHE_URL is set), not the test runner's cache of its own.
CACHES = base.CACHES

# One file per message sent, in a folder every server process shares with the test; a test
# that needs a real mail server (one that hangs) sets EMAIL_URL instead.
if env("EMAIL_URL", default=""):
    EMAIL_BACKEND = EMAIL_CONFIG["EMAIL_BACKEND"]
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = env("EMAIL_FILE_PATH")
# "order ... status pending -> paid" lines are how transitions are counted across processes.
LOGGING["loggers"]["shop"]["level"] = "INFO"
# gunicorn loads the app after forking, so this is the worker's own pid: a test finds the
# worker behind a blocked query in pg_stat_activity and can kill exactly that process.
DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = (
    f"storefront-worker-{os.getpid()}"
)
# As in production: connections outlive a request and are checked before reuse, so a
# connection cut between requests is part of what the server tests cover.
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Off unless a server test sets them (tests/support/servers.py turns them off by default).
CHECKOUT_RATE_LIMIT = env("CHECKOUT_RATE_LIMIT", default="")
LOGIN_RATE_LIMIT = env("LOGIN_RATE_LIMIT", default="")
PASSWORD_RESET_RATE_LIMIT = env("PASSWORD_RESET_RATE_LIMIT", default="")
PASSWORD_RESET_EMAIL_RATE_LIMIT = env("PASSWORD_RESET_EMAIL_RATE_LIMIT", default="")
