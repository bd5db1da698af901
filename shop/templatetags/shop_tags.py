from django import template

from shop.money import format_money

register = template.Library()


@register.filter
def money(amount, currency):
    """``{{ order.amount_total|money:order.currency }}`` → ``$12.50``."""
    if amount in (None, ""):
        return ""
    return format_money(int(amount), currency)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None
