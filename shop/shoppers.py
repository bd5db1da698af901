"""Who is shopping: an account, or a guest known by a random token in their browser session.

Guests' orders are tied to that token; on log-in or sign-up they move to the account
(``shop.services.orders.order_claim_guest_orders``). Nothing else identifies a shopper.
"""

import secrets
from dataclasses import dataclass

from django.db.models import Q

GUEST_TOKEN_SESSION_KEY = "shop_guest_token"  # noqa: S105  (a session key name)


@dataclass(frozen=True)
class Shopper:
    user_id: int | None
    guest_token: str | None
    email: str | None = None

    @property
    def is_known(self) -> bool:
        return self.user_id is not None or bool(self.guest_token)

    def owns(self, order) -> bool:
        if self.user_id is not None:
            return order.user_id == self.user_id
        return (
            bool(self.guest_token)
            and order.user_id is None
            and (secrets.compare_digest(order.guest_token, self.guest_token))
        )

    def orders_q(self) -> Q:
        """A filter matching exactly this shopper's orders (nothing when unknown)."""
        if self.user_id is not None:
            return Q(user_id=self.user_id)
        if self.guest_token:
            return Q(user__isnull=True, guest_token=self.guest_token)
        return Q(pk__in=[])


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
