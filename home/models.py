"""Site-wide settings editors change under Settings → Store in the Wagtail admin."""

from django.db import models
from django_countries.fields import CountryField
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting

# A fresh shop ships to these (Settings → Store settings changes them).
DEFAULT_SHIP_TO_COUNTRIES = ("US", "CA", "GB", "IE", "FR", "DE", "NL", "BE", "ES", "IT", "AU", "NZ")


def default_ship_to_countries() -> list[str]:
    return list(DEFAULT_SHIP_TO_COUNTRIES)


@register_setting(icon="site")
class StoreSettings(BaseSiteSetting):
    store_name = models.CharField(max_length=80, default="Storefront")
    support_email = models.EmailField(
        blank=True, help_text="Shown to shoppers who need help with an order."
    )

    low_stock_threshold = models.PositiveIntegerField(
        default=5,
        help_text=(
            'A tracked product with fewer units than this left shows "Only N left" in the '
            "shop and is listed on the dashboard."
        ),
    )

    ship_to_countries = CountryField(
        multiple=True,
        default=default_ship_to_countries,
        help_text=(
            "Where the shop delivers: checkout asks for an address in one of these. A shipping "
            "rate is offered only for the countries it shares with this list."
        ),
    )
    ask_for_phone = models.BooleanField(
        "ask for a phone number",
        default=False,
        help_text="Checkout asks for a phone number for the delivery (shoppers may leave it out).",
    )

    panels = [
        FieldPanel("store_name"),
        FieldPanel("support_email"),
        FieldPanel("low_stock_threshold"),
        FieldPanel("ship_to_countries"),
        FieldPanel("ask_for_phone"),
    ]

    class Meta:
        verbose_name = "store settings"
