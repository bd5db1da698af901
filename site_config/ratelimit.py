"""Per-client-address rate limits in Django's cache, answered with a clear 429 page.

Card-testing bots must not be able to open thousands of payment sessions. Limits are
``"<count>/<seconds>"`` settings; the cache should be shared between servers in
production (``CACHE_URL``) so every server counts the same requests.
"""

import functools
import time

from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse
from django.template.response import TemplateResponse


def _parse(rate: str) -> tuple[int, int]:
    count, _, seconds = rate.partition("/")
    return int(count), int(seconds)


def client_address(request) -> str:
    """The client's address; behind a proxy, the last hop it appended to X-Forwarded-For.

    Only when ``CLIENT_IP_FROM_FORWARDED_FOR`` is on: otherwise anyone could pick an address.
    """
    if request is None:
        return "unknown"
    if settings.CLIENT_IP_FROM_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.META.get("REMOTE_ADDR") or "unknown"


def hit(scope: str, request, rate: str) -> int | None:
    """Count one request; return seconds to wait if the limit is exceeded, else None.

    The window starts at a client's first request and both keys expire with it, so the
    count resets ``seconds`` after that first request.
    """
    limit, window = _parse(rate)
    key = f"ratelimit:{scope}:{client_address(request)}"
    now = time.time()
    cache.add(f"{key}:start", now, window)
    cache.add(key, 0, window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: a new window
        cache.set(key, 1, window)
        count = 1
    if count > limit:
        started = cache.get(f"{key}:start") or now
        return max(1, int(window - (now - started)) + 1)
    return None


def too_many_requests(request, retry_after: int):
    headers = {"Retry-After": str(retry_after)}
    message = "Too many requests from your connection. Please wait a few minutes and try again."
    wants_json = request.content_type == "application/json" or (
        "application/json" in request.headers.get("Accept", "")
    )
    if wants_json:
        return JsonResponse({"error": message}, status=429, headers=headers)
    return TemplateResponse(
        request,
        "429.html",
        {"message": message, "retry_after": retry_after},
        status=429,
        headers=headers,
    )


def rate_limited(scope: str, setting: str, methods=("POST",)):
    """Limit a view's ``methods`` per client address to the rate named by ``setting``."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            rate = getattr(settings, setting, "")
            if rate and request.method in methods:
                retry_after = hit(scope, request, rate)
                if retry_after is not None:
                    return too_many_requests(request, retry_after)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
