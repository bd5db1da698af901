from django import template

from shop.payments import gateway_class

register = template.Library()


@register.simple_tag
def payment_provider_name() -> str:
    """Who takes the shopper's payment, as the configured gateway calls itself."""
    return gateway_class().display_name
