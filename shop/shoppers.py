"""Who is shopping: an account, or a guest known by a random token in their browser session.

Guests' orders are tied to that token; on log-in or sign-up they move to the account
(``shop.services.orders.order_claim_guest_orders``). Nothing else identifies a shopper.

A first visit writes nothing: the shop page gives the browser a signed guest cookie
(``guest_cookie_attach``), not a session. The guest's first Buy claims the cookie
(``GuestClaim``: once, for that Buy's checkout token) and only then is a session made with
a guest token, so two clicks sent before the first answer came back are one shopper and
find one order. The cookie never shows or claims an order by itself.

Both the cookie and a session key can be planted: someone sets a victim's cookie to one of
their own and waits for the victim to buy. A cookie already claimed by another Buy gives a
fresh token, and the claiming Buy's token is never the cookie's. A guest's Buy moves the
session to a fresh key that only this browser receives (``shopper_session_rekey``); the
planted key then names no session with the token, and logging in with it claims nothing.
The old key keeps, for a few minutes, a note that lets the same Buy's duplicates follow the
browser to its new key, and nothing else.
"""

import contextlib
import datetime as dt
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.db import IntegrityError, transaction
from django.utils import timezone

from shop.models.guest_claims import GuestClaim

GUEST_TOKEN_SESSION_KEY = "shop_guest_token"  # noqa: S105  (a session key name)
# In a session: the checkout token of the Buy that gave it its key.
REKEYED_FOR_SESSION_KEY = "shop_rekeyed_for"
# In a retired session: {"to": the new key, "checkout_token": the Buy that moved it}.
MOVED_SESSION_KEY = "shop_session_moved"
# How long a retired key still leads that Buy's duplicates to the new one.
MOVED_NOTE_SECONDS = 300

GUEST_COOKIE_NAME = "shop_guest"
GUEST_COOKIE_SALT = "shop.shoppers.guest_cookie"
# A day: more than a page stays open before its Buy. A Buy with an expired cookie (and no
# session) is a new guest; its claim may then go (``guest_claims_remove_expired``).
GUEST_COOKIE_MAX_AGE = 60 * 60 * 24


@dataclass(frozen=True)
class Shopper:
    user_id: int | None
    guest_token: str | None
    email: str | None = None


def shopper_from_request(request) -> Shopper:
    """The shopper behind ``request``: the account, or the guest token in the session."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Shopper(user_id=user.pk, guest_token=None, email=user.email or None)
    token = request.session.get(GUEST_TOKEN_SESSION_KEY)
    return Shopper(user_id=None, guest_token=token or None)


def guest_cookie_attach(request, response) -> None:
    """Give this browser a signed guest cookie on ``response`` unless it carries a valid one.

    No database and no cache: it is set with every shop page, cached or not.
    """
    if _guest_cookie_token(request) is not None:
        return
    response.set_signed_cookie(
        GUEST_COOKIE_NAME,
        secrets.token_urlsafe(24),
        salt=GUEST_COOKIE_SALT,
        max_age=GUEST_COOKIE_MAX_AGE,
        domain=settings.SESSION_COOKIE_DOMAIN,
        path=settings.SESSION_COOKIE_PATH,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def _guest_cookie_token(request) -> str | None:
    """The token of this request's guest cookie, if it is ours and not expired."""
    return request.get_signed_cookie(
        GUEST_COOKIE_NAME, default=None, salt=GUEST_COOKIE_SALT, max_age=GUEST_COOKIE_MAX_AGE
    )


def _guest_token_from_cookie(request, *, checkout_token) -> str | None:
    """The guest token the guest cookie gives the Buy ``checkout_token``, or None.

    The first Buy with the cookie claims it and gets a fresh token; that Buy's duplicates
    (same checkout token) get the same one; any other Buy gets None.
    """
    cookie_token = _guest_cookie_token(request)
    if cookie_token is None:
        return None
    guest_token = secrets.token_urlsafe(24)
    try:
        with transaction.atomic():
            GuestClaim.objects.create(
                cookie_token=cookie_token, checkout_token=checkout_token, guest_token=guest_token
            )
    except IntegrityError:
        # Claimed before: a racing duplicate waited here for the claiming Buy's commit.
        claim = GuestClaim.objects.filter(cookie_token=cookie_token).first()
        if claim is None or not secrets.compare_digest(
            str(claim.checkout_token), str(checkout_token)
        ):
            return None
        return claim.guest_token
    return guest_token


def guest_claims_remove_expired(*, now=None) -> int:
    """Remove the claims of guest cookies that no longer verify; how many were removed."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=GUEST_COOKIE_MAX_AGE)
    removed, _ = GuestClaim.objects.filter(created_at__lt=cutoff).delete()
    return removed


def shopper_for_buy(request, *, checkout_token) -> Shopper:
    """The shopper pressing Buy with ``checkout_token`` (a guest gets a token).

    A guest with no token in their session gets the one their guest cookie gives this Buy
    (``_guest_token_from_cookie``), else a fresh one; either goes into the session.

    A duplicate of a Buy that already moved this browser's session to a new key (it left
    with the old cookie) follows the move, so it finds the same order and keeps the orders.
    """
    moved = request.session.get(MOVED_SESSION_KEY)
    if (
        isinstance(moved, dict)
        and not _is_signed_in(request)
        and secrets.compare_digest(str(moved.get("checkout_token")), str(checkout_token))
    ):
        successor = type(request.session)(session_key=str(moved.get("to")))
        if successor.get(REKEYED_FOR_SESSION_KEY) == str(checkout_token):
            successor.modified = True  # sends this browser the new key again
            request.session = successor
    shopper = shopper_from_request(request)
    if shopper.user_id is not None or shopper.guest_token:
        return shopper
    token = _guest_token_from_cookie(
        request, checkout_token=checkout_token
    ) or secrets.token_urlsafe(24)
    request.session[GUEST_TOKEN_SESSION_KEY] = token
    return Shopper(user_id=None, guest_token=token)


def shopper_session_rekey(request, *, shopper: Shopper, checkout_token) -> None:
    """After a guest's Buy: move the session to a key that only this browser receives.

    Done once per checkout token; the old key is left with a short-lived note for that
    Buy's duplicates (``shopper_for_buy``) and nothing else.
    """
    session = request.session
    if shopper.user_id is not None or session.get(REKEYED_FOR_SESSION_KEY) == str(checkout_token):
        return
    fresh = type(session)()
    fresh.update({key: value for key, value in session.items() if key != MOVED_SESSION_KEY})
    fresh.set_expiry(None)  # not a retired key's short life, if it came from one
    fresh[REKEYED_FOR_SESSION_KEY] = str(checkout_token)
    fresh.create()
    fresh.modified = True  # the session middleware saves it and sends its cookie
    if session.session_key:
        # Overwritten rather than deleted: a duplicate reading the old key at any moment
        # finds either the guest token (and moves too) or the note, never nothing.
        session.clear()
        session[MOVED_SESSION_KEY] = {
            "to": fresh.session_key,
            "checkout_token": str(checkout_token),
        }
        session.set_expiry(MOVED_NOTE_SECONDS)
        # If the old session expired or was removed meanwhile, there is nothing to retire.
        with contextlib.suppress(UpdateError):
            session.save()
    request.session = fresh


def _is_signed_in(request) -> bool:
    user = getattr(request, "user", None)
    return user is not None and user.is_authenticated
