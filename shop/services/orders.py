"""Order ownership: a guest's orders become their account's when they sign up or log in."""

import logging

from django.db import transaction

from shop.models import Order

logger = logging.getLogger(__name__)


@transaction.atomic
def order_claim_guest_orders(*, user, guest_token: str) -> int:
    """Give ``user`` the orders made under this browser session's guest token.

    Only the token proves ownership: orders with the same e-mail made elsewhere are not
    claimed, or anyone could claim them by typing an address.
    """
    if not guest_token:
        return 0
    claimed = Order.objects.filter(user__isnull=True, guest_token=guest_token).update(
        user=user, guest_token=""
    )
    if claimed:
        logger.info("%d guest orders moved to user %s", claimed, user.pk)
    return claimed
