"""The shop page's product cards, rendered once and cached, keyed on what is for sale.

The key is derived from the database — every field a card shows, of every product for
sale right now, and what each card says of its stock — so a publish, an edit, a sale, a
reorder from the snippet listing, an expiry or a scheduled go-live shows at once on every
server, whatever cache each one has. Per-shopper parts of the page (the checkout token,
chosen quantities, My orders) are never cached.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from shop import selectors
from shop.models import Product
from shop.stock import stock_levels_of

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
    page, *, low_stock_threshold: int, chosen_quantities: dict | None = None
) -> ProductCards:
    """The product cards of ``page``, with their quantity inputs.

    Cached unless the shopper's own quantities are to be kept in the inputs.
    """
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
