"""Site-wide settings editors change under Settings → Store in the Wagtail admin."""

from django.db import models
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting


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

    panels = [
        FieldPanel("store_name"),
        FieldPanel("support_email"),
        FieldPanel("low_stock_threshold"),
    ]

    class Meta:
        verbose_name = "store settings"
