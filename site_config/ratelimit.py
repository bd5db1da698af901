"""Rate limits per client address (and per e-mail address where one is posted), with a 429 page.

Card-testing bots must not open thousands of payment sessions, nor one client send
thousands of password-reset or sign-up e-mails. Limits are ``"<count>/<seconds>"``
settings, counted by django-ratelimit in the default cache, which every worker and server
shares (see site_config/cache.py), so a limit holds across all of them.
"""

import functools

from django.conf import settings
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django_ratelimit.core import get_usage

from site_config.negotiation import wants_json


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


def posted_email(request) -> str:
    """The posted ``email`` as the accounts compare it (trimmed, lower-cased)."""
    return (request.POST.get("email") or "").strip().lower()


def wait_wording(seconds: int) -> str:
    """How long to wait, in the unit a person reads: seconds, then minutes, then hours."""
    if seconds < 120:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    if seconds < 2 * 3600:
        return f"{-(-seconds // 60)} minutes"
    return f"{-(-seconds // 3600)} hours"


def too_many_requests(request, retry_after: int, *, scope: str = ""):
    headers = {"Retry-After": str(retry_after)}
    message = "Too many requests from your connection. Please wait a few minutes and try again."
    if wants_json(request):
        return JsonResponse({"error": message}, status=429, headers=headers)
    return TemplateResponse(
        request,
        "429.html",
        {"message": message, "wait": wait_wording(retry_after), "checkout": scope == "checkout"},
        status=429,
        headers=headers,
    )


def rate_limited(scope: str, setting: str, *, key=client_address, methods=("POST",)):
    """Limit a view's ``methods`` to the rate named by ``setting``, counted per ``key(request)``.

    Stack two for two limits (per address and per e-mail); each counts every request.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            rate = getattr(settings, setting, "")
            if rate and request.method in methods:
                usage = get_usage(
                    request,
                    group=scope,
                    key=lambda group, request: key(request),
                    rate=rate,
                    increment=True,
                )
                if usage and usage["should_limit"]:
                    return too_many_requests(request, max(1, usage["time_left"]), scope=scope)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
