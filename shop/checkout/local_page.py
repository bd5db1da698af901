"""The local gateway's hosted checkout page: /checkout/local/<session id>/.

A clearly labelled test payment page with Pay, Decline and Cancel. Pay confirms the
payment the way a hosted provider does: a signed "session completed" event through the
real webhook handler, then a redirect to the success URL; Decline sends the event of a
declined card. Refused (404) when DEBUG is off unless LOCAL_GATEWAY_ENABLED is set.
"""

from django import forms
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django_countries import countries

from shop.models import LocalCheckoutSession, Order
from shop.models.shipping import estimate_text
from shop.money import format_money
from shop.payments.base import ShippingAddress
from shop.payments.local import LocalGateway, tax_amount, taxable_amount
from shop.services.webhooks import webhook_deliver

ACTIONS = ("pay", "decline", "cancel")
# The column the address is stored in, on the session and then on the order.
EMAIL_MAX_LENGTH = LocalCheckoutSession._meta.get_field("customer_email").max_length


def _text(label: str, max_length: int, *, required: bool = True, autocomplete: str = ""):
    what = label[0].lower() + label[1:]
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        widget=forms.TextInput(attrs={"autocomplete": autocomplete} if autocomplete else {}),
        error_messages={
            "required": f"Enter the {what}.",
            "max_length": f"Enter at most {max_length} characters for the {what}.",
        },
    )


def _order_field(name: str) -> int:
    return Order._meta.get_field(name).max_length


class PayForm(forms.Form):
    """What a hosted checkout asks: a receipt address and, when the session ships, where to
    and how. Countries and rates are the session's own; anything else is refused."""

    email = forms.EmailField(
        max_length=EMAIL_MAX_LENGTH,
        error_messages={
            "required": "Enter the e-mail address for your receipt.",
            "invalid": "Enter the e-mail address for your receipt.",
            "max_length": f"Enter an e-mail address of at most {EMAIL_MAX_LENGTH} characters.",
        },
    )

    def __init__(self, *args, shipping: dict | None = None, currency: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.shipping = shipping or {}
        options = self.shipping.get("options") or []
        if not options:
            return
        self.fields["name"] = _text("Full name", _order_field("shipping_name"), autocomplete="name")
        self.fields["line1"] = _text(
            "Address line 1", _order_field("shipping_line1"), autocomplete="address-line1"
        )
        self.fields["line2"] = _text(
            "Address line 2",
            _order_field("shipping_line2"),
            required=False,
            autocomplete="address-line2",
        )
        self.fields["city"] = _text(
            "City", _order_field("shipping_city"), autocomplete="address-level2"
        )
        self.fields["postal_code"] = _text(
            "Postal code", _order_field("shipping_postal_code"), autocomplete="postal-code"
        )
        self.fields["region"] = _text(
            "Region, state or county",
            _order_field("shipping_region"),
            required=False,
            autocomplete="address-level1",
        )
        self.fields["country"] = forms.ChoiceField(
            label="Country",
            choices=[("", "Choose a country")]
            + [(code, countries.name(code) or code) for code in self.shipping["countries"]],
            error_messages={
                "required": "Choose the country to deliver to.",
                "invalid_choice": "We do not deliver to that country. Choose one from the list.",
            },
        )
        if self.shipping.get("collect_phone"):
            self.fields["phone"] = forms.RegexField(
                label="Phone (optional)",
                regex=r"^\+?[0-9 ()./-]{4,30}$",
                max_length=_order_field("shipping_phone"),
                required=False,
                widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
                error_messages={"invalid": "Enter a phone number of digits, spaces and +()-."},
            )
        self.fields["rate"] = forms.TypedChoiceField(
            label="Delivery",
            coerce=int,
            widget=forms.RadioSelect,
            choices=[
                (str(index), option_label(option, currency)) for index, option in enumerate(options)
            ],
            error_messages={
                "required": "Choose a delivery option.",
                "invalid_choice": "That delivery option is not offered. Choose one from the list.",
            },
        )

    def full_clean(self):
        super().full_clean()
        # Each error is read with its input (the template gives it this id).
        for name in self.errors:
            if name in self.fields and name != "rate":
                attrs = self.fields[name].widget.attrs
                attrs["aria-describedby"] = f"{self[name].auto_id}-error"
                attrs["aria-invalid"] = "true"

    def clean(self):
        cleaned = super().clean()
        rate, country = cleaned.get("rate"), cleaned.get("country")
        if rate is None or not country:
            return cleaned
        option = self.shipping["options"][rate]
        covered = option.get("countries")
        if covered is not None and country not in covered:
            self.add_error(
                "rate",
                f"{option['name']} does not deliver to {countries.name(country) or country}. "
                "Choose another delivery option.",
            )
        return cleaned

    def address(self) -> ShippingAddress | None:
        if "country" not in self.fields:
            return None
        data = self.cleaned_data
        return ShippingAddress(
            name=data["name"].strip(),
            line1=data["line1"].strip(),
            line2=data["line2"].strip(),
            city=data["city"].strip(),
            postal_code=data["postal_code"].strip(),
            region=data["region"].strip(),
            country=data["country"],
            phone=(data.get("phone") or "").strip(),
        )


def option_label(option: dict, currency: str) -> str:
    price = format_money(option["amount"], currency) if option["amount"] else "Free"
    return f"{option['name']} — {price}, {estimate_text(option['min_days'], option['max_days'])}"


def _enabled() -> bool:
    return settings.PAYMENT_GATEWAY == "local" and (
        settings.DEBUG or settings.LOCAL_GATEWAY_ENABLED
    )


def _pay_form(row: LocalCheckoutSession, data=None) -> PayForm:
    return PayForm(data, shipping=row.shipping, currency=row.currency)


def _render(
    request,
    row: LocalCheckoutSession,
    *,
    message: str = "",
    status: int = 200,
    email="",
    form: PayForm | None = None,
):
    lines = [
        {
            **line,
            "unit_display": format_money(line["unit_amount"], line["currency"]),
            "amount_display": format_money(
                line["unit_amount"] * line["quantity"], line["currency"]
            ),
        }
        for line in row.line_items
    ]
    context = {
        "session": row,
        "lines": lines,
        **_tax_context(row),
        "total_display": format_money(row.amount_total, row.currency),
        "discount_code": (row.discount or {}).get("code", ""),
        "discount_display": format_money(row.amount_discount, row.currency),
        "subtotal_display": format_money(
            sum(line["unit_amount"] * line["quantity"] for line in row.line_items), row.currency
        ),
        "is_open": row.status == "open" and row.expires_at > timezone.now(),
        "message": message,
        "email": email or row.customer_email,
        "email_max_length": EMAIL_MAX_LENGTH,
        "form": form or _pay_form(row),
    }
    return TemplateResponse(request, "shop/local_checkout.html", context, status=status)


def _tax_context(row: LocalCheckoutSession) -> dict:
    """The flat-rate tax as the page shows it: on the items while delivery is still to be
    chosen, on everything once the session is paid."""
    if not row.tax:
        return {}
    options = (row.shipping or {}).get("options") or []
    delivery = 0
    if options and row.shipping_option is not None:
        delivery = options[row.shipping_option]["amount"]
    taxable = taxable_amount(row, delivery)
    rate = row.tax["rate"].removesuffix(".00")
    return {
        "tax_display": format_money(tax_amount(row, taxable), row.currency),
        "tax_rate": rate,
        "tax_included": row.tax["behavior"] == "inclusive",
    }


def _deliver(delivery: tuple[bytes, dict[str, str]]) -> None:
    # Through the real handler, signature and all; if it fails the success page settles it.
    body, headers = delivery
    webhook_deliver(body=body, headers=headers)


def local_checkout_page(request: HttpRequest, session_id: str) -> HttpResponse:
    if not _enabled():
        raise Http404("The test payment page is not enabled.")
    row = get_object_or_404(LocalCheckoutSession, pk=session_id)
    if request.method == "GET":
        return _render(request, row)
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})

    action = request.POST.get("action")
    if action not in ACTIONS:
        return _render(request, row, message="Choose Pay, Decline or Cancel.", status=400)
    if action == "cancel":
        return redirect(row.cancel_url)
    if row.status != "open" or row.expires_at <= timezone.now():
        if row.status == "complete":
            return redirect(row.success_url.replace("{CHECKOUT_SESSION_ID}", row.id))
        return _render(request, row, message="This checkout has ended.", status=409)
    if action == "decline":
        _deliver(LocalGateway().declined_delivery(row))
        return _render(
            request,
            row,
            message="Your card was declined (test). You have not been charged. "
            "Try again or cancel.",
            status=402,
        )
    form = _pay_form(row, request.POST)
    if not form.is_valid():
        first = next(iter(form.errors.values()))[0]
        return _render(
            request,
            row,
            message=f"Please correct the form: {first}",
            status=400,
            email=request.POST.get("email", "").strip()[:EMAIL_MAX_LENGTH],
            form=form,
        )
    paid = LocalGateway().pay(
        row.id,
        email=form.cleaned_data["email"],
        address=form.address(),
        option=form.cleaned_data.get("rate"),
    )
    if paid is not None:
        _deliver(LocalGateway().paid_delivery(paid))
    return redirect(row.success_url.replace("{CHECKOUT_SESSION_ID}", row.id))
