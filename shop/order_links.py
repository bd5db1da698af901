"""Links to one order: its page on the shop, and the signed link its e-mail carries.

The signed link opens that one order read-only on any device, without logging in (see
``shop.order_keys``). Absolute addresses come from ``site_config.site_url``.
"""

from urllib.parse import urlencode

from shop.models.orders import Order
from shop.order_keys import KEY_PARAMETER, order_link_key
from shop.selectors import shop_page_live
from site_config.site_url import absolute_url


def order_path(order: Order, *, route: str = "order_detail") -> str:
    """The path of the order's page on the shop, e.g. ``/orders/ABCD-EFGH/`` (or of its
    receipt, ``route="order_receipt"``)."""
    page = shop_page_live()
    url_parts = page.get_url_parts() if page else None
    if not url_parts:
        return "/"  # no shop page: the shop is closed
    # reverse_subpage() is relative to the page ("orders/ABCD-EFGH/"); page paths end in "/".
    return url_parts[2] + page.reverse_subpage(route, args=[order.reference])


def order_signed_url(order: Order, *, route: str = "order_detail") -> str:
    """The absolute, signed, read-only link to ``order`` that its e-mail carries (or to its
    receipt, ``route="order_receipt"``: the same key opens both)."""
    query = urlencode({KEY_PARAMETER: order_link_key(order.reference)})
    return absolute_url(f"{order_path(order, route=route)}?{query}", origin=order.site_origin)
