"""A shopper's orders as cards (the shop page's My orders, /orders/), each drawn once and
kept in the shared cache until its order changes.

A card's key is a digest of its order's row — every column, so a payment, a refund, a
shipment, a decline or an invoice link each gives a new key — and of the page it links to.
The lines, written once when the order is placed, are read only for the cards not drawn
yet: a shopper's page costs one cache read for all their cards, however many orders they
have.
"""

import hashlib
import operator

from django.core.cache import cache
from django.db.models import Prefetch, prefetch_related_objects
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from shop.models.orders import Order, OrderLine

# A key names one drawing of one order, so it never needs invalidating: it only ages out.
CARD_SECONDS = 24 * 3600
# Every column's value of an order, in one C-level call (the key is made for each card shown).
_row_of = operator.attrgetter(*(field.attname for field in Order._meta.concrete_fields))


def order_cards(request, page, orders: list[Order]) -> list[SafeString]:
    """The cards of ``orders`` (in their order), linking into ``page``."""
    base = page.get_url(request) or ""
    keys = [_key(order, base) for order in orders]
    drawn = cache.get_many(keys)
    missing = [order for order, key in zip(orders, keys, strict=True) if key not in drawn]
    if missing:
        prefetch_related_objects(
            missing, Prefetch("lines", queryset=OrderLine.objects.order_by("pk"))
        )
        new = {
            _key(order, base): render_to_string(
                "shop/includes/order_summary.html",
                {"order": order, "page": page, "request": request},
            )
            for order in missing
        }
        cache.set_many(new, CARD_SECONDS)
        drawn.update(new)
    # Our own template's output, stored as text by the cache.
    return [mark_safe(drawn[key]) for key in keys]


def _key(order: Order, base: str) -> str:
    row = repr((base, _row_of(order)))
    return f"shop:order-card:{order.pk}:{hashlib.sha256(row.encode()).hexdigest()[:32]}"
