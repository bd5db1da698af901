"""Counts the SQL queries of each request and reports them in ``X-Bench-Queries``.

Enabled only by ``site_config.settings.bench``, outermost, so the load client reads the
cost of exactly the requests it timed, sessions and authentication included.
"""

from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse

QUERIES_HEADER = "X-Bench-Queries"


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class QueryCountMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        counter = _Counter()
        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        response[QUERIES_HEADER] = str(counter.count)
        return response
