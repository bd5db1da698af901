"""The rendered catalogue (product cards), cached and keyed on the catalogue's state.

The key is derived from the database — newest publication, number and ids of the products
for sale — so a publish, unpublish, availability change or deletion shows at once on
every server, whatever cache each one has. Per-shopper parts of the page (the checkout
token, chosen quantities, My orders) are never cached.
"""

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Q, Sum
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from shop import selectors
from shop.models import Product

_FOR_SALE = Q(live=True, available=True)


def catalogue_state() -> tuple:
    """One cheap aggregate query that changes whenever what the shop shows changes."""
    stats = Product.objects.aggregate(
        published=Max("last_published_at"),
        for_sale=Count("pk", filter=_FOR_SALE),
        ids=Sum("pk", filter=_FOR_SALE),
        total=Count("pk"),
    )
    published = stats["published"].isoformat() if stats["published"] else "-"
    return (published, stats["for_sale"], stats["ids"] or 0, stats["total"])


def catalogue_render(page, *, chosen_quantities: dict | None = None) -> tuple[str, bool]:
    """(product cards HTML, whether anything is for sale) for ``page``.

    Cached unless the shopper's own quantities are to be kept in the inputs.
    """
    state = catalogue_state()
    has_products = state[1] > 0
    if chosen_quantities:
        return _render(page, chosen_quantities), has_products
    key = "shop:catalogue:{}:{}:{}:{}".format(
        page.pk, page.live_revision_id, page.max_quantity, ":".join(map(str, state))
    )
    html = cache.get(key)
    if html is None:
        html = _render(page, {})
        cache.set(key, html, settings.CATALOGUE_CACHE_SECONDS)
    # Our own template's output, stored as text by the cache.
    return mark_safe(html), has_products


def _render(page, chosen_quantities: dict) -> str:
    return render_to_string(
        "shop/includes/catalogue.html",
        {
            "products": selectors.product_list_for_sale(),
            "page": page,
            "chosen_quantities": chosen_quantities,
        },
    )
