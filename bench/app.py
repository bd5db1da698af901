"""What the bench settings add to the site: the ceiling view and a query count per response.

``site_config.settings.bench`` makes this module its ROOT_URLCONF and puts
:class:`QueryCountMiddleware` outermost, so sessions and authentication are counted too.
"""

from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from site_config.urls import urlpatterns as site_urlpatterns

_page: list[bytes] = []


def ceiling(request):
    """The anonymous shop page's bytes, rendered once per worker, then only returned."""
    if not _page:
        response = Client().get("/", HTTP_HOST=request.get_host())
        if response.status_code != 200:
            raise RuntimeError(f"GET / answered {response.status_code}; is the shop seeded?")
        _page.append(response.content)
    return HttpResponse(_page[0])


class QueryCountMiddleware:
    """Sets ``X-Bench-Queries`` to the SQL statements the request ran, ``X-Bench-Writes`` to
    those of them that wrote (INSERT, UPDATE, DELETE)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        count = [0, 0]

        def counted(execute, sql, params, many, context):
            count[0] += 1
            count[1] += sql.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE")
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counted):
            response = self.get_response(request)
        response["X-Bench-Queries"], response["X-Bench-Writes"] = map(str, count)
        return response


# First: the site's list ends with Wagtail's catch-all page route.
urlpatterns = [path("bench/ceiling/", ceiling), *site_urlpatterns]
