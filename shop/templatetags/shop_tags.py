from django import template

from shop.money import format_money
from shop.product_cards import ProductCards, product_cards_render

register = template.Library()


@register.simple_tag
def product_cards(page, chosen_quantities=None) -> ProductCards:
    """``{% product_cards page chosen_quantities as cards %}``: ``cards.html`` and
    ``cards.has_products``, from the render cache unless quantities are to be kept."""
    return product_cards_render(page, chosen_quantities=chosen_quantities)


@register.filter
def money(amount, currency):
    """``{{ order.amount_total|money:order.currency }}`` → ``$12.50``."""
    if amount in (None, ""):
        return ""
    return format_money(int(amount), currency)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None
