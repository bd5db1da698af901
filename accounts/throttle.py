"""Failed log-in throttling, per account and per client address, in Django's cache.

Failures are counted in a sliding window; once a limit is reached further attempts are
refused until the window passes, so the real owner is never locked out for good (and can
reset their password meanwhile). Shared by the shop's log-in form and, through
``ThrottledModelBackend``, the Wagtail admin's.
"""

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


def record_failure(username: str | None, request) -> None:
    for key, _ in _keys(username, request):
        if cache.add(key, 1, WINDOW_SECONDS):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, WINDOW_SECONDS)


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
        if is_throttled(username, request):
            # Stops the backend chain; Django reports it as a failed log-in.
            raise PermissionDenied(MESSAGE)
        return super().authenticate(request, username=username, password=password, **kwargs)
