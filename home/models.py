"""Site-wide settings editors change under Settings → Store in the Wagtail admin."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_countries.fields import CountryField
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
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

    store_address = models.TextField(
        "store address",
        blank=True,
        help_text=(
            "Your business's postal address, printed at the top of receipts. One line per "
            "line of the address."
        ),
    )
    tax_number = models.CharField(
        "tax or VAT number",
        max_length=40,
        blank=True,
        help_text=(
            "Printed on receipts when filled in, e.g. your VAT registration number. Leave "
            "empty if you have none."
        ),
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

    class TaxBehavior(models.TextChoices):
        # The payment provider's tax behaviour values.
        INCLUSIVE = "inclusive", "Prices include tax"
        EXCLUSIVE = "exclusive", "Tax is added at checkout"

    automatic_tax = models.BooleanField(
        "calculate tax automatically",
        default=False,
        help_text=(
            "Checkout works out the sales tax or VAT for each order from the delivery address. "
            "With real payment keys, automatic tax must first be set up in the payment "
            "provider's dashboard (your business address and where you are registered to "
            "collect tax), or checkout fails."
        ),
    )
    tax_behavior = models.CharField(
        "tax and your prices",
        max_length=9,
        choices=TaxBehavior.choices,
        default=TaxBehavior.EXCLUSIVE,
        help_text=(
            "Whether the prices you enter for products and shipping already contain the tax, "
            "or the tax is added on top of them at checkout. Used only when tax is "
            "calculated automatically."
        ),
    )
    test_tax_rate = models.DecimalField(
        "tax rate for test payments (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal("20.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text=(
            "Only the test payment page (used without payment keys) charges this one rate, "
            "e.g. 20.00 for 20%. With real keys, the payment provider works out the real rate."
        ),
    )

    hosted_invoices = models.BooleanField(
        "hosted invoices for paid orders",
        default=False,
        help_text=(
            "With real payment keys, each paid order gets an invoice that the payment "
            "provider e-mails to the shopper and hosts online (with a PDF); the order page "
            "and confirmation e-mail link it. Without it, shoppers are offered the shop's own "
            "receipt. The provider may charge a fee per invoice. The test payment page "
            "(without payment keys) makes no invoices."
        ),
    )

    panels = [
        FieldPanel("store_name"),
        FieldPanel("support_email"),
        MultiFieldPanel(
            [FieldPanel("store_address"), FieldPanel("tax_number")],
            heading="Receipts",
        ),
        FieldPanel("low_stock_threshold"),
        FieldPanel("ship_to_countries"),
        FieldPanel("ask_for_phone"),
        MultiFieldPanel(
            [FieldPanel("automatic_tax"), FieldPanel("tax_behavior"), FieldPanel("test_tax_rate")],
            heading="Tax",
        ),
        FieldPanel("hosted_invoices"),
    ]

    class Meta:
        verbose_name = "store settings"

    @property
    def tax_behavior_in_use(self) -> str:
        """ "inclusive" or "exclusive" when checkout calculates tax, else ""."""
        return self.tax_behavior if self.automatic_tax else ""
