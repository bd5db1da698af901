"""Links to one order: its page on the shop, and the signed link its e-mail carries.

The signed link opens that one order read-only on any device, without logging in, for
``ORDER_LINK_MAX_AGE_DAYS``. Its key is a ``django.core.signing`` signature of the order's
reference (salted for this use, timestamped), so it opens no other order and nothing else.
"""

import datetime as dt
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing

from shop.models.orders import Order
from site_config.site_url import absolute_url

LINK_SALT = "shop.order-link"
KEY_PARAMETER = "key"


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=LINK_SALT)


def order_link_key(order: Order) -> str:
    """The key that opens ``order`` alone: ``sign(reference)`` without the reference itself."""
    signer = _signer()
    return signer.sign(order.reference).split(signer.sep, 1)[1]


def order_link_opens(reference: str, key: str) -> bool:
    """Whether ``key`` was made for the order ``reference`` and has not expired."""
    signer, max_age = _signer(), dt.timedelta(days=settings.ORDER_LINK_MAX_AGE_DAYS)
    try:
        signed = signer.unsign(f"{reference}{signer.sep}{key}", max_age=max_age)
    except signing.BadSignature:
        return False
    return signed == reference


def order_path(order: Order) -> str:
    """The path of the order's page on the shop, e.g. ``/orders/ABCD-EFGH/``."""
    from shop.models.pages import ShopPage  # the page module links to orders too

    page = ShopPage.objects.live().first()
    url_parts = page.get_url_parts() if page else None
    if not url_parts:
        return "/"  # no shop page: the shop is closed
    # reverse_subpage() is relative to the page ("orders/ABCD-EFGH/"); page paths end in "/".
    return url_parts[2] + page.reverse_subpage("order_detail", args=[order.reference])


def order_signed_url(order: Order) -> str:
    """The absolute, signed, read-only link to ``order`` that its e-mail carries."""
    query = urlencode({KEY_PARAMETER: order_link_key(order)})
    return absolute_url(f"{order_path(order)}?{query}", origin=order.site_origin)
