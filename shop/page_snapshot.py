"""The shop page as a first-time visitor gets it: drawn once per process, then only filled in.

A visitor with no session and no messages (a first visit, a crawler, a guest who has not
bought yet) sees what everyone sees except two values: the CSRF token of the Buy form and
its checkout token, fresh per page so that a resubmitted form finds its one order. The page
is drawn once with a marker in each place and kept by the process while the shop's version
holds and its cards need no redrawing (``shop.shop_state``, ``shop.product_cards``); each
visit then joins the pieces around a new CSRF token and a new checkout token. Nothing is
read from or written to the database.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpResponse
from django.middleware.csrf import get_token

from shop.product_cards import seconds_until_cards_change
from shop.shop_state import remembered
from shop.shoppers import guest_cookie_attach

# Markers no rendering of ours produces; each must appear where its value goes and only there.
_CSRF_MARK = "csrf-0f5e2c1d8b7a4e6f9c3b2a1d0e8f7c6b"
_TOKEN_MARK = "checkout-0f5e2c1d8b7a4e6f9c3b2a1d0e8f7c6b"  # noqa: S105  (a marker)
_MARKS = re.compile(f"({_CSRF_MARK}|{_TOKEN_MARK})")


@dataclass(frozen=True)
class Snapshot:
    pieces: tuple[bytes, ...]  # the page split at the markers
    values: tuple[str, ...]  # which value goes after each piece but the last: "csrf" or "token"
    content_type: str


def serves(request) -> bool:
    """Whether ``request`` gets the page everyone gets: a plain GET or HEAD of the page by a
    visitor with no session (so no account, no orders, nothing to be told) and no messages."""
    return (
        request.method in ("GET", "HEAD")
        and not request.GET
        and getattr(request, "shop_state", None) is not None
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
    )


def snapshot_response(request, page, render) -> HttpResponse | None:
    """The page for ``request`` from the process's snapshot; ``render(request, **context)``
    draws it (a TemplateResponse) when there is none. None when it did not draw (not 200):
    the page is then answered as usual."""
    key = ("shop-page-snapshot", page.pk, page.live_revision_id, request.get_host())
    snapshot = remembered(request, key, lambda: _draw(request, render))
    if snapshot is None:
        return None
    values = {"csrf": get_token(request), "token": str(uuid.uuid4())}
    body = bytearray(snapshot.pieces[0])
    for name, piece in zip(snapshot.values, snapshot.pieces[1:], strict=True):
        body += values[name].encode()
        body += piece
    response = HttpResponse(bytes(body), content_type=snapshot.content_type)
    guest_cookie_attach(request, response)  # what ties this visitor's first Buys together
    return response


def _draw(request, render) -> tuple[Snapshot | None, float]:
    # The cards' lifetime first: read before the page, so nothing drawn outlives it.
    seconds = seconds_until_cards_change()
    response = render(request, csrf_token=_CSRF_MARK, checkout_token=_TOKEN_MARK)
    response.render()
    if response.status_code != 200:
        return None, 0.0
    # The markers split the page: piece, marker, piece, marker, ..., piece.
    parts = _MARKS.split(response.content.decode())
    pieces = tuple(part.encode() for part in parts[0::2])
    values = tuple("csrf" if mark == _CSRF_MARK else "token" for mark in parts[1::2])
    return Snapshot(pieces, values, response["Content-Type"]), seconds
