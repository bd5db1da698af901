"""Shipping rates: what delivery costs, where and how fast (Shop → Shipping rates in the admin).

Snippets with drafts, revisions and publishing like products: the row holds the live
version. Checkout offers every live, active rate whose countries the shop ships to
(``shop.shipping``); an order keeps a snapshot of what it was offered, so editing a rate
later never changes an order.
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django_countries.fields import CountryField
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, PublishingPanel
from wagtail.models import DraftStateMixin, LockableMixin, RevisionMixin

from shop.forms import ShippingRateForm
from shop.money import MAX_UNIT_AMOUNT, format_money

DISPLAY_ORDER = ("sort_order", "amount", "name", "pk")
MAX_BUSINESS_DAYS = 60


class ShippingRate(DraftStateMixin, LockableMixin, RevisionMixin, models.Model):
    name = models.CharField(max_length=80, help_text='Shown to shoppers, e.g. "Standard".')
    amount = models.PositiveIntegerField(
        "price",
        validators=[MaxValueValidator(MAX_UNIT_AMOUNT)],
        help_text="Stored in the currency's minor unit (cents).",
    )
    countries = CountryField(
        multiple=True,
        help_text="Where this rate delivers. Countries the shop does not ship to "
        "(Settings → Store settings) are ignored.",
    )
    min_days = models.PositiveSmallIntegerField(
        "delivery from (business days)", validators=[MaxValueValidator(MAX_BUSINESS_DAYS)]
    )
    max_days = models.PositiveSmallIntegerField(
        "delivery up to (business days)", validators=[MaxValueValidator(MAX_BUSINESS_DAYS)]
    )
    free_from = models.PositiveIntegerField(
        "free when the subtotal reaches",
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_UNIT_AMOUNT * 1000)],
        help_text="Leave empty to always charge the price.",
    )
    active = models.BooleanField(
        default=True, help_text="Untick to stop offering the rate without unpublishing it."
    )
    sort_order = models.IntegerField(default=0, help_text="Lower numbers are offered first.")
    # Set on the rates seed_shop makes, so running it again finds them (and leaves them be).
    seed_key = models.CharField(max_length=40, unique=True, null=True, blank=True, editable=False)

    revisions = GenericRelation(
        "wagtailcore.Revision",
        content_type_field="base_content_type",
        object_id_field="object_id",
        related_query_name="shipping_rate",
        for_concrete_model=False,
    )

    base_form_class = ShippingRateForm

    panels = [
        FieldPanel("name"),
        FieldPanel("amount"),
        FieldPanel("countries"),
        FieldRowPanel([FieldPanel("min_days"), FieldPanel("max_days")], heading="Delivery"),
        FieldPanel("free_from"),
        MultiFieldPanel([FieldPanel("active"), FieldPanel("sort_order")], heading="Display"),
        PublishingPanel(),
    ]

    class Meta:
        ordering = list(DISPLAY_ORDER)

    def __str__(self) -> str:
        return self.name

    def clean(self):
        super().clean()
        if None not in (self.min_days, self.max_days) and self.min_days > self.max_days:
            raise ValidationError(
                {"max_days": "The longest delivery cannot be shorter than the shortest."}
            )

    def amount_for(self, subtotal: int) -> int:
        """What this rate costs an order of ``subtotal``: free from its threshold."""
        if self.free_from is not None and subtotal >= self.free_from:
            return 0
        return self.amount

    @property
    def price_display(self) -> str:
        return format_money(self.amount, settings.SHOP_CURRENCY)

    @property
    def free_from_display(self) -> str:
        if self.free_from is None:
            return ""
        return format_money(self.free_from, settings.SHOP_CURRENCY)

    @property
    def estimate_display(self) -> str:
        return estimate_text(self.min_days, self.max_days)

    @property
    def countries_display(self) -> str:
        return ", ".join(country.code for country in self.countries)


def estimate_text(min_days: int | None, max_days: int | None) -> str:
    """ "3–5 business days", "1 business day": the one wording of a delivery estimate."""
    if min_days is None or max_days is None:
        return ""
    if min_days == max_days:
        unit = "business day" if min_days == 1 else "business days"
        return f"{min_days} {unit}"
    return f"{min_days}–{max_days} business days"
