from django import template

from shop.product_cards import ProductCards, product_cards_render

register = template.Library()


@register.simple_tag
def product_cards(page, chosen_quantities=None) -> ProductCards:
    """``{% product_cards page chosen_quantities as cards %}``: ``cards.html`` and
    ``cards.has_products``, from the render cache unless quantities are to be kept."""
    return product_cards_render(page, chosen_quantities=chosen_quantities)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None
