from django import template
from wagtail.models import Site

from home.models import StoreSettings
from shop.product_cards import ProductCards, product_cards_render

register = template.Library()


@register.simple_tag(takes_context=True)
def product_cards(context, page, chosen_quantities=None) -> ProductCards:
    """``{% product_cards page chosen_quantities as cards %}``: ``cards.html`` and
    ``cards.has_products``, from the render cache unless quantities are to be kept."""
    request = context.get("request")
    if request is not None:
        store = StoreSettings.for_request(request)
    else:
        store = StoreSettings.for_site(Site.objects.get(is_default_site=True))
    return product_cards_render(
        page,
        low_stock_threshold=store.low_stock_threshold,
        chosen_quantities=chosen_quantities,
        request=request,
    )


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None
