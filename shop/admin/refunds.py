"""Refunding an order from its admin page (Shop → Orders → an order → Refund).

Only users holding ``shop.refund_order`` (the Managers group) see the button or may open
the form; anyone else gets a 403 page, not a redirect. The form refunds the whole order
(what is left), chosen lines and quantities, or an amount, with a reason; the service
(shop/services/refunds.py) decides and asks the payment provider.
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.views.generic import FormView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets import HeaderButton

from shop.models import Order, Refund
from shop.money import format_money, parse_amount
from shop.services.refunds import (
    RefundNotAllowed,
    refund_create,
    refund_left,
    refundable_quantities,
)

PERMISSION = "shop.refund_order"
URL_NAME = "orders:refund"


def can_refund(user, order: Order) -> bool:
    """Whether ``user`` may refund, and ``order`` is one that can be."""
    return user.has_perm(PERMISSION) and order.status in Order.REFUNDABLE_STATUSES


def refund_button(user, order: Order) -> HeaderButton | None:
    """The inspect page's Refund button, for those who may use it."""
    if not can_refund(user, order):
        return None
    return HeaderButton(
        "Refund",
        url=reverse(URL_NAME, args=[order.pk]),
        icon_name="rotate",
        attrs={"data-refund-button": ""},
    )


class RefundForm(forms.Form):
    """Whole order, lines or an amount; one field per line for its quantity."""

    WHOLE, LINES, AMOUNT = "whole", "lines", "amount"

    token = forms.UUIDField(widget=forms.HiddenInput)
    what = forms.ChoiceField(
        label="Refund",
        choices=[
            (WHOLE, "The whole order (all that is left)"),
            (LINES, "Chosen lines and quantities"),
            (AMOUNT, "An amount"),
        ],
        widget=forms.RadioSelect,
        initial=WHOLE,
    )
    amount = forms.CharField(
        label="Amount", required=False, max_length=32, help_text="Only for “An amount”."
    )
    reason = forms.ChoiceField(
        choices=Refund.Reason.choices, initial=Refund.Reason.REQUESTED_BY_CUSTOMER
    )
    note = forms.CharField(
        label="Note (for operators)",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, order: Order, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        self.left = refund_left(order)
        quantities = refundable_quantities(order)
        self.line_fields = []
        for line in order.lines.all():
            name = f"qty_{line.pk}"
            self.fields[name] = forms.IntegerField(
                label=f"{line.product_name} ({line.unit_price_display} each)",
                min_value=0,
                max_value=quantities[line.pk],
                initial=0,
                required=False,
                help_text=f"{quantities[line.pk]} of {line.quantity} left to refund",
            )
            self.line_fields.append((line, name))
        self.tracked = any(line.held_quantity for line in order.lines.all())
        if self.tracked:
            self.fields["restock"] = forms.BooleanField(
                label="Return the units to stock",
                required=False,
                help_text="Once the refund succeeds, the refunded units are on sale again.",
            )
        self.fields[
            "amount"
        ].help_text = f"Only for “An amount”; at most {format_money(self.left, order.currency)}."

    @property
    def line_rows(self) -> list:
        """(order line, its bound quantity field), for the template."""
        return [(line, self[name]) for line, name in self.line_fields]

    def clean_amount(self) -> int | None:
        text = self.cleaned_data.get("amount", "")
        if self.data.get("what") != self.AMOUNT:
            return None
        if not text:
            raise forms.ValidationError("Enter the amount to refund.")
        try:
            return parse_amount(text, self.order.currency)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def refund_arguments(self) -> dict:
        """What the service is asked for, from the cleaned form."""
        data = self.cleaned_data
        lines = None
        if data["what"] == self.LINES:
            lines = {line.pk: data.get(name) or 0 for line, name in self.line_fields}
            lines = {pk: qty for pk, qty in lines.items() if qty}
            if not lines:
                raise RefundNotAllowed("Choose at least one unit to refund.")
        return {
            "amount": data["amount"] if data["what"] == self.AMOUNT else None,
            "lines": lines,
            "reason": data["reason"],
            "note": data.get("note", ""),
            "restock": bool(data.get("restock")) and data["what"] == self.LINES,
            "token": data["token"],
        }


def _forbidden(request, order: Order | None):
    return TemplateResponse(
        request,
        "shop/admin/refund_forbidden.html",
        {
            "order": order,
            "inspect_url": reverse("orders:inspect", args=[order.pk]) if order else "",
        },
        status=403,
    )


class OrderRefundView(WagtailAdminTemplateMixin, FormView):
    template_name = "shop/admin/order_refund.html"
    form_class = RefundForm
    header_icon = "rotate"

    def dispatch(self, request, *args, **kwargs):
        self.order = get_object_or_404(Order, pk=kwargs["pk"])
        if not request.user.has_perm(PERMISSION):
            return _forbidden(request, self.order)
        return super().dispatch(request, *args, **kwargs)

    @cached_property
    def inspect_url(self) -> str:
        return reverse("orders:inspect", args=[self.order.pk])

    def get_page_title(self):
        return f"Refund order {self.order.reference}"

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("orders:index"), "label": "Orders"},
            {"url": self.inspect_url, "label": self.order.reference},
            {"url": "", "label": "Refund"},
        ]

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["order"] = self.order
        return kwargs

    def get_initial(self):
        return {"token": uuid.uuid4()}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            order=self.order,
            left_display=format_money(context["form"].left, self.order.currency),
            refundable=self.order.status in Order.REFUNDABLE_STATUSES,
            inspect_url=self.inspect_url,
        )
        return context

    def form_valid(self, form):
        try:
            outcome = refund_create(
                order=self.order, requested_by=self.request.user, **form.refund_arguments()
            )
        except RefundNotAllowed as exc:
            form.add_error(None, exc.message)
            return self.render_to_response(self.get_context_data(form=form), status=400)
        refund = outcome.refund
        if refund.status == Refund.Status.FAILED:
            messages.error(
                self.request, f"The refund of {refund.amount_display} failed: {outcome.problem}"
            )
        elif outcome.problem:
            messages.warning(
                self.request, f"Refund of {refund.amount_display} pending: {outcome.problem}"
            )
        elif refund.status == Refund.Status.SUCCEEDED:
            messages.success(self.request, f"Refunded {refund.amount_display}.")
        else:
            messages.success(
                self.request,
                f"Refund of {refund.amount_display} sent to the payment provider; the order "
                "shows it as refunded once the provider confirms it.",
            )
        return redirect(self.inspect_url)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)
