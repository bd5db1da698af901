"""The shop page's product cards, rendered once and cached, keyed on what is for sale.

The key is derived from the database — every field a card shows, of every product for
sale right now — so a publish, an edit, a reorder from the snippet listing, an expiry or a
scheduled go-live shows at once on every server, whatever cache each one has. Per-shopper
parts of the page (the checkout token, chosen quantities, My orders) are never cached.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from shop import selectors
from shop.models import Product

# Everything product_card.html shows, in the order the catalogue shows it.
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
)


def product_cards_state() -> tuple[int, str]:
    """(number of products for sale, digest of their cards) from one query.

    The digest changes whenever a card changes, however the row was written (a plain
    UPDATE such as the admin's reorder included), and when the schedule moves a product on
    or off sale.
    """
    rows = list(Product.objects.for_sale().values_list(*_CARD_FIELDS))
    return len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()


@dataclass(frozen=True)
class ProductCards:
    html: str
    has_products: bool  # anything for sale at all


def product_cards_render(page, *, chosen_quantities: dict | None = None) -> ProductCards:
    """The product cards of ``page``, with their quantity inputs.

    Cached unless the shopper's own quantities are to be kept in the inputs.
    """
    count, digest = product_cards_state()
    has_products = count > 0
    if chosen_quantities:
        return ProductCards(_render(page, chosen_quantities), has_products)
    key = f"shop:product-cards:{page.pk}:{page.live_revision_id}:{page.max_quantity}:{digest}"
    html = cache.get(key)
    if html is None:
        html = _render(page, {})
        cache.set(key, html, settings.CATALOGUE_CACHE_SECONDS)
    # Our own template's output, stored as text by the cache.
    return ProductCards(mark_safe(html), has_products)


def _render(page, chosen_quantities: dict) -> str:
    return render_to_string(
        "shop/includes/product_grid.html",
        {
            "products": selectors.product_list_for_sale(),
            "page": page,
            "chosen_quantities": chosen_quantities,
        },
    )
