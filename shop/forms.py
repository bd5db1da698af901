"""Admin forms: editors type prices as money, the model stores minor units."""

from decimal import Decimal

from django import forms
from wagtail.admin.forms import WagtailAdminModelForm

from shop.money import MAX_UNIT_AMOUNT, format_money, parse_amount, to_decimal


class ProductForm(WagtailAdminModelForm):
    unit_amount = forms.DecimalField(
        label="Price",
        min_value=Decimal("0.01"),
        max_digits=12,
        help_text="In the product's currency, e.g. 12.50.",
        error_messages={"min_value": "The price must be more than zero."},
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        if instance.unit_amount is not None:
            self.initial["unit_amount"] = to_decimal(instance.unit_amount, instance.currency)

    def clean(self):
        cleaned = super().clean()
        price = cleaned.get("unit_amount")
        currency = cleaned.get("currency") or self.instance.currency
        if price is not None and currency:
            try:
                amount = parse_amount(price, currency)
            except ValueError as exc:
                self.add_error("unit_amount", str(exc))
                return cleaned
            if amount > MAX_UNIT_AMOUNT:
                limit = format_money(MAX_UNIT_AMOUNT, currency)
                self.add_error("unit_amount", f"The price can be at most {limit}.")
            else:
                cleaned["unit_amount"] = amount
        return cleaned
