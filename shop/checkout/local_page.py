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

from shop.models import LocalCheckoutSession
from shop.money import format_money
from shop.payments.local import LocalGateway
from shop.services.webhooks import webhook_deliver

ACTIONS = ("pay", "decline", "cancel")
# The column the address is stored in, on the session and then on the order.
EMAIL_MAX_LENGTH = LocalCheckoutSession._meta.get_field("customer_email").max_length


class PayForm(forms.Form):
    email = forms.EmailField(
        max_length=EMAIL_MAX_LENGTH,
        error_messages={
            "required": "Enter the e-mail address for your receipt.",
            "invalid": "Enter the e-mail address for your receipt.",
            "max_length": f"Enter an e-mail address of at most {EMAIL_MAX_LENGTH} characters.",
        },
    )


def _enabled() -> bool:
    return settings.PAYMENT_GATEWAY == "local" and (
        settings.DEBUG or settings.LOCAL_GATEWAY_ENABLED
    )


def _render(request, row: LocalCheckoutSession, *, message: str = "", status: int = 200, email=""):
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
        "total_display": format_money(row.amount_total, row.currency),
        "is_open": row.status == "open" and row.expires_at > timezone.now(),
        "message": message,
        "email": email or row.customer_email,
        "email_max_length": EMAIL_MAX_LENGTH,
    }
    return TemplateResponse(request, "shop/local_checkout.html", context, status=status)


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
    form = PayForm(request.POST)
    if not form.is_valid():
        return _render(
            request,
            row,
            message=form.errors["email"][0],
            status=400,
            email=request.POST.get("email", "").strip()[:EMAIL_MAX_LENGTH],
        )
    paid = LocalGateway().pay(row.id, email=form.cleaned_data["email"])
    if paid is not None:
        _deliver(LocalGateway().paid_delivery(paid))
    return redirect(row.success_url.replace("{CHECKOUT_SESSION_ID}", row.id))
