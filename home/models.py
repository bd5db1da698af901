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

    panels = [FieldPanel("store_name"), FieldPanel("support_email")]

    class Meta:
        verbose_name = "store settings"
