"""The shop's absolute address: the one rule every link that leaves the site asks.

The payment provider's return URLs, order e-mails and password-reset e-mails all need an absolute
address. ``SITE_URL`` (the public address, e.g. behind a proxy) wins when set. Otherwise
the address comes from the request that started the flow, validated: its host must be in
``ALLOWED_HOSTS`` (Django's ``get_host`` refuses others) and the port it names is kept only
when the request really arrived on that port or the origin is one the operator trusts in
``CSRF_TRUSTED_ORIGINS``; a client cannot make us mail links to a port of its choosing.
Work done later without a request (an e-mail sent from a webhook) uses the origin recorded
when the flow started, and failing that ``WAGTAILADMIN_BASE_URL``.
"""

from django.conf import settings
from django.http import HttpRequest
from django.http.request import split_domain_port

DEFAULT_PORTS = {"http": "80", "https": "443"}


def request_origin(request: HttpRequest) -> str:
    """``scheme://host[:port]`` of ``request``, validated as the module docstring says.

    Raises ``DisallowedHost`` (a 400) for a host outside ``ALLOWED_HOSTS``.
    """
    scheme = request.scheme
    domain, port = split_domain_port(request.get_host())
    origin = f"{scheme}://{domain}"
    if not port or port == DEFAULT_PORTS.get(scheme):
        return origin
    with_port = f"{origin}:{port}"
    if port == str(request.get_port()) or with_port in settings.CSRF_TRUSTED_ORIGINS:
        return with_port
    return origin


def site_url(*, request: HttpRequest | None = None, origin: str = "") -> str:
    """The shop's absolute base address, without a trailing slash.

    ``SITE_URL`` when set; else the validated origin of ``request``; else ``origin`` (one
    recorded from an earlier request); else ``WAGTAILADMIN_BASE_URL``.
    """
    configured = settings.SITE_URL.rstrip("/")
    if configured:
        return configured
    if request is not None:
        return request_origin(request)
    return (origin or settings.WAGTAILADMIN_BASE_URL).rstrip("/")


def absolute_url(path: str, *, request: HttpRequest | None = None, origin: str = "") -> str:
    """``path`` (starting with "/") on the shop's absolute address; see :func:`site_url`."""
    return site_url(request=request, origin=origin) + path
