"""The shop page's product cards, rendered once and cached, keyed on what is for sale.

Two layers. Each process keeps the drawn cards while the shop's shared version holds
(``shop.shop_state``: bumped by every save of a product, image, page, site or the store
settings, and by every hold or release of stock) and until the clock next changes a card (a
schedule starting or ending, a hold lapsing: ``seconds_until_cards_change``). Drawing them
again reads every field a card shows and what each card says of stock, and looks for that
digest in the shared cache, so a server that has drawn these cards lends them to the others.
Per-shopper parts of the page (the checkout token, chosen quantities, My orders) are never
kept here.
"""

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Min, Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from shop import selectors
from shop.models import OrderLine, Product
from shop.shop_state import remembered
from shop.stock import holding, stock_levels_of

# Everything product_card.html shows, in the order the catalogue shows it; stock last.
_CARD_FIELDS = (
    "pk",
    "sort_order",
    "name",
    "description",
    "unit_amount",
    "currency",
    "image_id",
    "image__file",
    "image__title",
    "image__description",
    "image__focal_point_x",
    "image__focal_point_y",
    "image__focal_point_width",
    "image__focal_point_height",
    "stock",
)


@dataclass(frozen=True)
class CardStock:
    """What a tracked product's card says of its stock."""

    max_quantity: int  # the most a shopper can choose: the page's maximum or what is left
    limited: bool  # capped by what is left rather than by the page's maximum
    left: int | None  # "Only N left": fewer than the store's low-stock threshold
    sold_out: bool


def card_stock(level, *, max_quantity: int, low_stock_threshold: int) -> CardStock | None:
    """The card's stock for a ``shop.stock.StockLevel``, or None when the card shows nothing
    of it (stock not tracked, or plenty left)."""
    if level is None or level.available is None:
        return None
    available = max(level.available, 0)
    if available == 0:
        return CardStock(max_quantity=0, limited=True, left=None, sold_out=True)
    left = available if available < low_stock_threshold else None
    limited = available < max_quantity
    if left is None and not limited:
        return None
    return CardStock(
        max_quantity=min(max_quantity, available), limited=limited, left=left, sold_out=False
    )


def product_cards_state(
    *, max_quantity: int, low_stock_threshold: int
) -> tuple[list[int], dict[int, CardStock], str]:
    """(ids of the products for sale, their cards' stock, digest of their cards).

    The digest changes whenever a card changes, however the row was written (a plain
    UPDATE such as the admin's reorder included), when the schedule moves a product on
    or off sale, and when a sale, a hold or an editor changes what a card says is left.
    """
    rows = list(Product.objects.for_sale().values_list(*_CARD_FIELDS))
    ids = [row[0] for row in rows]
    # The stock column is read with the cards: counting what is held costs a query only
    # when some product for sale is tracked.
    levels = stock_levels_of({row[0]: row[-1] for row in rows})
    stock = {}
    for pk in ids:
        shown = card_stock(
            levels.get(pk), max_quantity=max_quantity, low_stock_threshold=low_stock_threshold
        )
        if shown is not None:
            stock[pk] = shown
    digest = hashlib.sha256(repr((rows, sorted(stock.items()))).encode()).hexdigest()
    return ids, stock, digest


@dataclass(frozen=True)
class ProductCards:
    html: str
    has_products: bool  # anything for sale at all


def product_cards_render(
    page, *, low_stock_threshold: int, chosen_quantities: dict | None = None, request=None
) -> ProductCards:
    """The product cards of ``page``, with their quantity inputs.

    Cached unless the shopper's own quantities are to be kept in the inputs; and kept by
    the process, without a query, while the shop's version holds (``shop.shop_state``) and
    until the clock next changes a card.
    """
    if chosen_quantities or request is None:
        return _cards(
            page, low_stock_threshold=low_stock_threshold, chosen_quantities=chosen_quantities
        )
    key = ("product-cards", page.pk, page.live_revision_id, page.max_quantity, low_stock_threshold)

    def build():
        cards = _cards(page, low_stock_threshold=low_stock_threshold)
        return cards, seconds_until_cards_change()

    return remembered(request, key, build)


def seconds_until_cards_change(now: dt.datetime | None = None) -> float:
    """How long the cards may be kept with nothing saved: until a product's schedule starts
    or ends, or a hold lapses with its payment session, and at most CATALOGUE_CACHE_SECONDS
    (a change written behind the ORM's back, such as a raw UPDATE, shows by then)."""
    now = now or timezone.now()
    schedule = Product.objects.aggregate(
        starts=Min("go_live_at", filter=Q(go_live_at__gt=now)),
        ends=Min("expire_at", filter=Q(expire_at__gt=now)),
    )
    lapses = OrderLine.objects.filter(holding(now), product__stock__isnull=False).aggregate(
        at=Min("held_until")
    )["at"]
    seconds = float(settings.CATALOGUE_CACHE_SECONDS)
    for moment in (schedule["starts"], schedule["ends"], lapses):
        if moment is not None:
            seconds = min(seconds, (moment - now).total_seconds())
    return max(seconds, 0.0)


def _cards(page, *, low_stock_threshold: int, chosen_quantities: dict | None = None):
    ids, stock, digest = product_cards_state(
        max_quantity=page.max_quantity, low_stock_threshold=low_stock_threshold
    )
    has_products = bool(ids)
    if chosen_quantities:
        return ProductCards(_render(page, stock, chosen_quantities), has_products)
    key = f"shop:product-cards:{page.pk}:{page.live_revision_id}:{page.max_quantity}:{digest}"
    html = cache.get(key)
    if html is None:
        html = _render(page, stock, {})
        cache.set(key, html, settings.CATALOGUE_CACHE_SECONDS)
    # Our own template's output, stored as text by the cache.
    return ProductCards(mark_safe(html), has_products)


def _render(page, stock: dict[int, CardStock], chosen_quantities: dict) -> str:
    return render_to_string(
        "shop/includes/product_grid.html",
        {
            "products": selectors.product_list_for_sale(),
            "page": page,
            "stock": stock,
            "chosen_quantities": chosen_quantities,
        },
    )
