"""The catalogue: products editors manage as Wagtail snippets (Shop → Products in the admin).

The row holds the *live* version; an editor's unpublished draft lives only in its revision,
so the shop never shows it until it is published (now or at a scheduled time).
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, PublishingPanel
from wagtail.fields import RichTextField
from wagtail.models import DraftStateMixin, PreviewableMixin, RevisionMixin
from wagtail.search import index
from wagtail.search.queryset import SearchableQuerySetMixin

from shop.forms import ProductForm
from shop.money import CURRENCY_CHOICES, MAX_UNIT_AMOUNT, format_money


def default_currency() -> str:
    return settings.SHOP_CURRENCY


class ProductQuerySet(SearchableQuerySetMixin, models.QuerySet):
    def for_sale(self):
        """Published and available, in the editors' order."""
        return self.filter(live=True, available=True).order_by("sort_order", "name", "pk")


class Product(DraftStateMixin, RevisionMixin, PreviewableMixin, index.Indexed, models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
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
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default=default_currency)
    available = models.BooleanField(
        default=True, help_text="Untick to take the product off the shop without unpublishing it."
    )
    sort_order = models.IntegerField(default=0, help_text="Lower numbers are shown first.")

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
        FieldPanel("name"),
        FieldPanel("slug"),
        FieldPanel("description"),
        FieldPanel("image"),
        FieldRowPanel([FieldPanel("unit_amount"), FieldPanel("currency")], heading="Price"),
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
        ordering = ["sort_order", "name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def price_display(self) -> str:
        return format_money(self.unit_amount, self.currency)

    def get_preview_template(self, request, mode_name):
        return "shop/product_preview.html"

    def get_preview_context(self, request, mode_name):
        context = super().get_preview_context(request, mode_name)
        context["product"] = self
        return context
