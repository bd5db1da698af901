"""Products: what the shop sells, managed as Wagtail snippets (Shop → Products in the admin).

The row holds the *live* version; an editor's unpublished draft lives only in its revision,
so the shop never shows it until it is published (now or at a scheduled time).
"""

import datetime as dt

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.text import slugify
from wagtail.admin.panels import FieldPanel, MultiFieldPanel, PublishingPanel, TitleFieldPanel
from wagtail.admin.widgets.slug import SlugInput
from wagtail.fields import RichTextField
from wagtail.models import DraftStateMixin, PreviewableMixin, Revision, RevisionMixin
from wagtail.search import index
from wagtail.search.queryset import SearchableQuerySetMixin

from shop.forms import ProductForm
from shop.money import CURRENCY_CHOICES, MAX_UNIT_AMOUNT, format_money

# The order the shop shows products in, and lists them in the admin: the editors' order.
DISPLAY_ORDER = ("sort_order", "name", "pk")


# The payment provider's product tax codes: "txcd_" and eight digits (its tax-codes list).
tax_code_validator = RegexValidator(
    r"^txcd_[0-9]{8}\Z",
    message='Enter a tax code: "txcd_" followed by 8 digits, e.g. txcd_99999999.',
)


def default_currency() -> str:
    return settings.SHOP_CURRENCY


class ProductQuerySet(SearchableQuerySetMixin, models.QuerySet):
    def for_sale(self, *, now: dt.datetime | None = None):
        """What the shop sells at ``now``, in the editors' order.

        Published, available, priced in the shop's currency and within its schedule. The
        schedule is read here rather than left to ``publish_scheduled``: a product is off
        sale from its ``expire_at`` and, when first published for a later ``go_live_at``,
        on sale from then, whenever the command next runs.
        """
        now = now or timezone.now()
        # A first publication scheduled for later leaves the row not live but holding the
        # approved revision's content; unscheduling clears the approval.
        scheduled = Revision.objects.filter(
            base_content_type=ContentType.objects.get_for_model(self.model),
            object_id=Cast(OuterRef("pk"), models.CharField()),
            approved_go_live_at__lte=now,
        )
        started = Q(live=True) & (Q(go_live_at__isnull=True) | Q(go_live_at__lte=now))
        starts_now = Q(live=False, go_live_at__lte=now) & Exists(scheduled)
        return self.filter(
            started | starts_now,
            Q(expire_at__isnull=True) | Q(expire_at__gt=now),
            available=True,
            currency=settings.SHOP_CURRENCY,
        ).order_by(*DISPLAY_ORDER)


class Product(DraftStateMixin, RevisionMixin, PreviewableMixin, index.Indexed, models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(
        max_length=120, unique=True, blank=True, help_text="Filled from the name when left empty."
    )
    description = RichTextField(features=["bold", "italic", "link", "ul"], blank=True)
    image = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    unit_amount = models.PositiveIntegerField(
        "price",
        validators=[MinValueValidator(1), MaxValueValidator(MAX_UNIT_AMOUNT)],
        help_text="Stored in the currency's minor unit (cents).",
    )
    # The shop sells in one currency (SHOP_CURRENCY): the form prices products in it and a
    # row left in another one is not for sale until an editor re-prices it.
    currency = models.CharField(
        max_length=3, choices=CURRENCY_CHOICES, default=default_currency, editable=False
    )
    available = models.BooleanField(
        default=True, help_text="Untick to take the product off the shop without unpublishing it."
    )
    sort_order = models.IntegerField(default=0, help_text="Lower numbers are shown first.")
    # Every unit the shop has had to sell, those since sold included: what is left is this
    # minus the units sold and those held by open checkouts (see shop/stock.py).
    stock = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=(
            "Units to sell in all, counting those already sold; add new units to it."
            " Leave empty to sell without counting stock."
        ),
    )
    tax_code = models.CharField(
        # Longer than a code (13), so a mistyped one gets the shape's message, not a length's.
        max_length=20,
        blank=True,
        validators=[tax_code_validator],
        help_text=(
            "Optional. The payment provider's tax code for this kind of product (e.g. "
            "txcd_99999999 for general goods, from the provider's list of tax codes), used "
            "when tax is calculated automatically. Leave empty to use the default set in the "
            "provider's dashboard."
        ),
    )

    revisions = GenericRelation(
        "wagtailcore.Revision",
        content_type_field="base_content_type",
        object_id_field="object_id",
        related_query_name="product",
        for_concrete_model=False,
    )

    objects = ProductQuerySet.as_manager()

    # The admin form shows the price as money (12.50) and stores minor units.
    base_form_class = ProductForm

    panels = [
        # As on pages: the slug follows the name as the editor types, until first published.
        TitleFieldPanel("name", placeholder=False),
        # ASCII, as the model's SlugField validates it.
        FieldPanel("slug", widget=SlugInput(attrs={"data-w-slug-allow-unicode-value": "false"})),
        FieldPanel("description"),
        FieldPanel("image"),
        FieldPanel("unit_amount"),
        FieldPanel("stock"),
        FieldPanel("tax_code"),
        MultiFieldPanel([FieldPanel("available"), FieldPanel("sort_order")], heading="Display"),
        PublishingPanel(),
    ]

    search_fields = [
        index.SearchField("name"),
        index.AutocompleteField("name"),
        index.SearchField("description"),
        index.FilterField("live"),
        index.FilterField("available"),
    ]

    class Meta:
        ordering = list(DISPLAY_ORDER)

    def __str__(self) -> str:
        return self.name

    def clean(self):
        super().clean()
        if not self.slug:
            self.slug = self._unique_slug_from_name()
        if self.currency != settings.SHOP_CURRENCY:
            raise ValidationError(
                f"Products are priced in the shop's currency, {settings.SHOP_CURRENCY.upper()}."
            )

    def _unique_slug_from_name(self) -> str:
        base = slugify(self.name)[: self._meta.get_field("slug").max_length - 8] or "product"
        taken = set(
            Product.objects.exclude(pk=self.pk)
            .filter(slug__startswith=base)
            .values_list("slug", flat=True)
        )
        slug, number = base, 1
        while slug in taken:
            number += 1
            slug = f"{base}-{number}"
        return slug

    @property
    def price_display(self) -> str:
        return format_money(self.unit_amount, self.currency)

    def get_preview_template(self, request, mode_name):
        return "shop/product_preview.html"

    def get_preview_context(self, request, mode_name):
        context = super().get_preview_context(request, mode_name)
        context["product"] = self
        return context
