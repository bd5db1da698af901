"""Work that must not hold up a response: run it once the response has gone out.

:class:`AfterResponseMiddleware` opens a list for each request; :func:`run_after_response`
called while the request is handled appends to it, and the work runs when the server closes
the response. WSGI and ASGI servers close a response after its last byte was sent, and
Django then runs the response's resource closers (before ``request_finished`` tidies the
database connections). Outside a request the work runs at once.

The work should not rely on running: a worker can die after the response. The confirmation
e-mail, the one user of this, is claimed with a lease that reconciliation picks up.
"""

import logging
from collections.abc import Callable
from contextvars import ContextVar
from functools import partial

from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("shop.after_response")

_deferred: ContextVar[list[Callable[[], object]] | None] = ContextVar(
    "after_response", default=None
)


def run_after_response(work: Callable[[], object]) -> None:
    """Run ``work`` after the current request's response was sent, or now outside a request."""
    pending = _deferred.get()
    if pending is None:
        work()
    else:
        pending.append(work)


def _run(pending: list[Callable[[], object]]) -> None:
    for work in pending:
        try:
            work()
        except Exception:
            # Django ignores a closer's exception silently; say what went wrong.
            logger.exception("work deferred until after the response failed")


class AfterResponseMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        pending: list[Callable[[], object]] = []
        token = _deferred.set(pending)
        try:
            response = self.get_response(request)
        finally:
            _deferred.reset(token)
        if pending:
            # HttpResponse.close() calls these once the server is done with the response.
            response._resource_closers.append(partial(_run, pending))
        return response
