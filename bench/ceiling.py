"""The ceiling: the shop page's HTML bytes, rendered once per worker and then only returned.

It runs through the same gunicorn, middleware and connection handling as every page, so
what it measures is the cost of serving *anything*; a page's ratio to it is the share of
that budget the page itself leaves.
"""

import threading

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.test import Client

_lock = threading.Lock()
_page: bytes | None = None


def _shop_page_bytes(host: str) -> bytes:
    global _page
    with _lock:
        if _page is None:
            # In-process, through the full handler: exactly what an anonymous GET / returns.
            response = Client().get("/", HTTP_HOST=host)
            if response.status_code != 200:
                raise RuntimeError(f"GET / answered {response.status_code}; is the shop seeded?")
            _page = response.content
        return _page


def ceiling(request: HttpRequest) -> HttpResponse:
    if not getattr(settings, "BENCH_CEILING_ENABLED", False):
        raise Http404
    return HttpResponse(_shop_page_bytes(request.get_host()))
