"""Admin forms: editors type prices as money in the shop's currency; the model keeps cents."""

from django import forms
from django.conf import settings
from wagtail.admin.forms import WagtailAdminModelForm

from shop.money import MAX_UNIT_AMOUNT, amount_forms, format_money, parse_amount, to_decimal

_EMPTY_DRAFTAIL = '{"blocks": [], "entityMap": {}}'
STOCK_HELP = (
    "Units to sell, those already sold included: add to it when new units come in. Leave "
    "empty not to track stock (the product then never sells out)."
)


class ProductForm(WagtailAdminModelForm):
    # Text, not a number input: browsers and Django's localisation would read "12,50" as
    # 1250; parse_amount reads it as twelve fifty and refuses what it would have to guess.
    unit_amount = forms.CharField(
        label="Price",
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._refuse_unreadable_description()
        if "stock" in self.fields:
            self.fields["stock"].help_text = STOCK_HELP
        currency = settings.SHOP_CURRENCY
        price = self.fields["unit_amount"]
        price.help_text = f"In {currency.upper()}, e.g. {amount_forms(currency)}."
        instance = self.instance
        if instance.unit_amount is None:
            return
        if instance.currency == currency:
            self.initial["unit_amount"] = f"{to_decimal(instance.unit_amount, currency):f}"
        else:
            # Showing €12.00 as "12.00" in a dollar shop would re-price it on the next save.
            self.initial["unit_amount"] = ""
            was = format_money(instance.unit_amount, instance.currency)
            price.help_text = (
                f"This product was priced in {instance.currency.upper()} ({was}) and is not "
                f"for sale: the shop sells in {currency.upper()}. Enter its price in "
                f"{currency.upper()}, e.g. {amount_forms(currency)}."
            )
            price.error_messages["required"] = price.help_text

    def show_stock_level(self, level) -> None:
        """Say under the stock field what is held and sold of it (a ``shop.stock.StockLevel``).

        The editor may still change the stock: a lower figure only limits new checkouts.
        """
        if "stock" not in self.fields or level is None or level.available is None:
            return
        if not (level.held or level.sold):
            return
        self.fields["stock"].help_text = (
            f"{level.stock} in stock, {level.held} held by open checkouts, {level.sold} sold: "
            f"{max(level.available, 0)} available. {STOCK_HELP}"
        )

    def _refuse_unreadable_description(self) -> None:
        """Draftail always posts its own JSON; anything else (a broken client, an attacker)
        makes the editor's converter raise whatever its parser or exporter trips on. Such
        a value is set aside as empty and reported by :meth:`clean_description`."""
        self.description_unreadable = False
        name = self.add_prefix("description")
        if not self.is_bound or "description" not in self.fields or name not in self.data:
            return
        try:
            self.fields["description"].widget.value_from_datadict(self.data, self.files, name)
        except Exception:
            self.description_unreadable = True
            self.data = self.data.copy()
            self.data[name] = _EMPTY_DRAFTAIL

    def clean_description(self) -> str:
        if self.description_unreadable:
            raise forms.ValidationError(
                "The description could not be read. Retype it in the editor and save again."
            )
        return self.cleaned_data["description"]

    def clean_unit_amount(self) -> int:
        currency = settings.SHOP_CURRENCY
        try:
            amount = parse_amount(self.cleaned_data["unit_amount"], currency)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        if amount <= 0:
            raise forms.ValidationError("The price must be more than zero.")
        if amount > MAX_UNIT_AMOUNT:
            limit = format_money(MAX_UNIT_AMOUNT, currency)
            raise forms.ValidationError(f"The price can be at most {limit}.")
        return amount

    def _post_clean(self):
        # The price was typed in the shop's currency, so that is the product's currency.
        self.instance.currency = settings.SHOP_CURRENCY
        super()._post_clean()


def _money_field(label: str, *, required: bool = True) -> forms.CharField:
    """Money typed as text (see ProductForm.unit_amount), in the shop's currency."""
    return forms.CharField(
        label=label,
        max_length=40,
        required=required,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )


def _money_initial(form: forms.ModelForm, names: tuple[str, ...]) -> str:
    """Shows the instance's amounts as money; returns the help text's example."""
    currency = settings.SHOP_CURRENCY
    for name in names:
        value = getattr(form.instance, name)
        if value is not None:
            form.initial[name] = f"{to_decimal(value, currency):f}"
    return f"In {currency.upper()}, e.g. {amount_forms(currency)}."


def _money_parse(text: str, *, limit: int, zero_allowed: bool) -> int:
    currency = settings.SHOP_CURRENCY
    try:
        amount = parse_amount(text, currency)
    except ValueError as exc:
        raise forms.ValidationError(str(exc)) from exc
    if amount <= 0 and not zero_allowed:
        raise forms.ValidationError("The amount must be more than zero.")
    if amount < 0:
        raise forms.ValidationError("The amount cannot be negative.")
    if amount > limit:
        raise forms.ValidationError(f"The amount can be at most {format_money(limit, currency)}.")
    return amount


class ShippingRateForm(WagtailAdminModelForm):
    """Prices typed as money, as on products; zero is allowed (a rate that is always free)."""

    amount = _money_field("Price")
    free_from = _money_field("Free when the order's subtotal reaches", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        example = _money_initial(self, ("amount", "free_from"))
        self.fields["amount"].help_text = example
        self.fields["free_from"].help_text = f"{example} Leave empty to always charge the price."

    def clean_amount(self) -> int:
        return _money_parse(self.cleaned_data["amount"], limit=MAX_UNIT_AMOUNT, zero_allowed=True)

    def clean_free_from(self) -> int | None:
        text = self.cleaned_data.get("free_from") or ""
        if not text.strip():
            return None
        return _money_parse(text, limit=MAX_UNIT_AMOUNT * 1000, zero_allowed=True)


class PromotionCodeForm(WagtailAdminModelForm):
    """Amounts typed as money, as on shipping rates; the code is stored upper-cased."""

    amount_off = _money_field("Amount off", required=False)
    minimum_subtotal = _money_field("Minimum subtotal", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        example = _money_initial(self, ("amount_off", "minimum_subtotal"))
        self.fields["amount_off"].help_text = f"{example} Fill in this or the percentage."
        self.fields["minimum_subtotal"].help_text = f"{example} Leave empty for no minimum."

    def _money(self, name: str) -> int | None:
        text = self.cleaned_data.get(name) or ""
        if not text.strip():
            return None
        return _money_parse(text, limit=MAX_UNIT_AMOUNT * 1000, zero_allowed=False)

    def clean_code(self) -> str:
        code = (self.cleaned_data.get("code") or "").strip().upper()
        model = self._meta.model
        if code and model.objects.filter(code=code).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Another promotion code is already called that.")
        return code

    def clean_amount_off(self) -> int | None:
        return self._money("amount_off")

    def clean_minimum_subtotal(self) -> int | None:
        return self._money("minimum_subtotal")
