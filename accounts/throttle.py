"""Failed log-in throttling, per account and per client address, in Django's cache.

Each attempt is counted before its password is checked, atomically in the shared cache,
and a successful one is taken off again: so failures count across every worker and server,
and even attempts sent all at once get no more password checks than the limit. Once a
limit is reached further attempts are refused until the window passes, so the real owner
is never locked out for good (and can reset their password meanwhile). Shared by the
shop's log-in form and, through ``ThrottledModelBackend``, the Wagtail admin's.
"""

import contextlib

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied

from site_config.ratelimit import client_address

WINDOW_SECONDS = getattr(settings, "LOGIN_THROTTLE_WINDOW_SECONDS", 15 * 60)
MAX_FAILURES_PER_ACCOUNT = getattr(settings, "LOGIN_THROTTLE_PER_ACCOUNT", 5)
MAX_FAILURES_PER_ADDRESS = getattr(settings, "LOGIN_THROTTLE_PER_ADDRESS", 20)
MESSAGE = (
    "Too many failed log-in attempts. Please wait 15 minutes and try again, or reset your password."
)


def _keys(username: str | None, request) -> list[tuple[str, int]]:
    keys = [(f"login-fail:addr:{client_address(request)}", MAX_FAILURES_PER_ADDRESS)]
    if username:
        keys.append((f"login-fail:acct:{username.strip().lower()}", MAX_FAILURES_PER_ACCOUNT))
    return keys


def is_throttled(username: str | None, request) -> bool:
    return any((cache.get(key) or 0) >= limit for key, limit in _keys(username, request))


def _count(key: str) -> int:
    if cache.add(key, 1, WINDOW_SECONDS):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, WINDOW_SECONDS)
        return 1


def attempt_start(username: str | None, request) -> bool:
    """Count an attempt before its password is checked; False if it is over a limit."""
    counts = [(_count(key), limit) for key, limit in _keys(username, request)]
    return all(count <= limit for count, limit in counts)


def attempt_succeeded(username: str | None, request) -> None:
    """A right password: the attempt was no failure, for the address or the account."""
    address_key = _keys(None, request)[0][0]
    with contextlib.suppress(ValueError):  # the window ended meanwhile
        cache.decr(address_key)
    clear_account(username)


def clear_account(username: str | None) -> None:
    if username:
        cache.delete(f"login-fail:acct:{username.strip().lower()}")


class ThrottledModelBackend(ModelBackend):
    """Refuses to check passwords while an account or address is throttled."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is not None:
            username = username.strip()
            if "@" in username:
                username = username.lower()
        if not attempt_start(username, request):
            # Stops the backend chain; Django reports it as a failed log-in.
            raise PermissionDenied(MESSAGE)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            attempt_succeeded(username, request)
        return user
