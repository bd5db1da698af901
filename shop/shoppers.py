"""Who is shopping: an account, or a guest known by a random token in their browser session.

Guests' orders are tied to that token; on log-in or sign-up they move to the account
(``shop.services.orders.order_claim_guest_orders``). Nothing else identifies a shopper.

A session key can be planted: someone sets a victim's session cookie to a session of their
own, which already holds a guest token (the shop page gives one on the first visit). So a
guest's Buy moves the session to a fresh key that only this browser receives
(``shopper_session_rekey``); the planted key then names no session with the token, and
logging in with it claims nothing. The old key keeps, for a few minutes, a note that lets
the same Buy's duplicates (a double click sent before the first answer came back) follow
the browser to its new key, and nothing else.
"""

import contextlib
import secrets
from dataclasses import dataclass

from django.contrib.sessions.backends.base import UpdateError

GUEST_TOKEN_SESSION_KEY = "shop_guest_token"  # noqa: S105  (a session key name)
# In a session: the checkout token of the Buy that gave it its key.
REKEYED_FOR_SESSION_KEY = "shop_rekeyed_for"
# In a retired session: {"to": the new key, "checkout_token": the Buy that moved it}.
MOVED_SESSION_KEY = "shop_session_moved"
# How long a retired key still leads that Buy's duplicates to the new one.
MOVED_NOTE_SECONDS = 300


@dataclass(frozen=True)
class Shopper:
    user_id: int | None
    guest_token: str | None
    email: str | None = None


def shopper_from_request(request, *, create: bool = False) -> Shopper:
    """The shopper behind ``request``; ``create`` gives a guest a token so orders can be tied."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Shopper(user_id=user.pk, guest_token=None, email=user.email or None)
    token = request.session.get(GUEST_TOKEN_SESSION_KEY)
    if not token and create:
        token = secrets.token_urlsafe(24)
        request.session[GUEST_TOKEN_SESSION_KEY] = token
    return Shopper(user_id=None, guest_token=token or None)


def shopper_for_buy(request, *, checkout_token) -> Shopper:
    """The shopper pressing Buy with ``checkout_token`` (a guest gets a token).

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
    return shopper_from_request(request, create=True)


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
