"""The order actions on an order's inspect page: cancel an unpaid order, send the
confirmation again, add an internal note; and the order's disputes.

One permission per action (``Order.Meta.permissions``). A button shows only to a user who
holds its permission, and its URL answers anyone else with 403 (not Wagtail's redirect to
the dashboard). POST only, CSRF-checked; the outcome comes back as an admin message on the
inspect page. The services (shop/services/order_actions.py) decide and record.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from shop.models import Dispute, Order
from shop.money import format_money
from shop.payments import dispute_url
from shop.services import order_actions as actions

CANCEL = "shop.cancel_order"
RESEND = "shop.resend_order_email"
NOTE = "shop.note_order"


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Internal note",
        max_length=actions.NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            f"Seen only by staff in this order's timeline, never by the customer. "
            f"At most {actions.NOTE_MAX_LENGTH} characters."
        ),
        error_messages={"required": "Write something in the note: an empty note is not saved."},
    )


@dataclass(frozen=True)
class OrderActions:
    """What the inspect page offers this user on this order."""

    can_cancel: bool
    can_resend: bool
    can_note: bool
    cancel_url: str
    resend_url: str
    note_url: str
    note_form: NoteForm

    @property
    def any(self) -> bool:
        return self.can_cancel or self.can_resend or self.can_note


def order_actions_for(user, order: Order) -> OrderActions:
    """The buttons for ``user``: each needs its permission and an order it applies to."""
    return OrderActions(
        can_cancel=user.has_perm(CANCEL) and order.status == Order.Status.PENDING,
        can_resend=user.has_perm(RESEND) and order.status == Order.Status.PAID,
        can_note=user.has_perm(NOTE),
        cancel_url=reverse("orders:cancel", args=[order.pk]),
        resend_url=reverse("orders:resend_confirmation", args=[order.pk]),
        note_url=reverse("orders:add_note", args=[order.pk]),
        note_form=NoteForm(),
    )


@dataclass(frozen=True)
class DisputeRow:
    dispute: Dispute
    url: str | None

    @property
    def amount_display(self) -> str:
        return format_money(self.dispute.amount, self.dispute.currency)


def order_disputes(order: Order) -> list[DisputeRow]:
    """The order's disputes, oldest first, each with its page at the provider."""
    return [
        DisputeRow(dispute, dispute_url(dispute.provider_dispute_id, order.payment_session_id))
        for dispute in order.disputes.all()
    ]


def _forbidden(request: HttpRequest, order_id: int) -> HttpResponse:
    return TemplateResponse(
        request,
        "shop/admin/order_action_forbidden.html",
        {
            "title": "You may not do this",
            "text": "Your account does not have the permission this action needs. An "
            "administrator can give it under Settings → Groups (Managers cancel orders and "
            "resend e-mails; Managers and Fulfilment add notes).",
            "back_url": reverse("orders:inspect", args=[order_id]),
            "back_label": "Back to the order",
        },
        status=403,
    )


def _back(order: Order) -> HttpResponse:
    return redirect(reverse("orders:inspect", args=[order.pk]))


def _action(permission: str):
    """POST only; 403 without ``permission``; 404 for an order that does not exist."""

    def decorate(view):
        @require_POST
        def wrapped(request: HttpRequest, pk) -> HttpResponse:
            if not request.user.has_perm(permission):
                return _forbidden(request, pk)
            order = get_object_or_404(Order, pk=pk)
            try:
                return view(request, order)
            except actions.OrderActionRefused as refused:
                messages.error(request, refused.message)
                return _back(order)

        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        return wrapped

    return decorate


@_action(CANCEL)
def cancel_view(request: HttpRequest, order: Order) -> HttpResponse:
    outcome = actions.order_cancel_unpaid(order=order, user=request.user)
    if outcome is actions.CancelOutcome.PAID_MEANWHILE:
        messages.warning(
            request,
            f"Order {order.reference} was not canceled: it was just paid. "
            "It is now marked paid and its confirmation goes out to the customer.",
        )
    else:
        messages.success(request, f"Order {order.reference} canceled; its checkout is closed.")
    return _back(order)


@_action(RESEND)
def resend_view(request: HttpRequest, order: Order) -> HttpResponse:
    actions.order_confirmation_resend_request(order=order, user=request.user)
    messages.success(request, f"The confirmation of order {order.reference} is being sent again.")
    return _back(order)


@_action(NOTE)
def note_view(request: HttpRequest, order: Order) -> HttpResponse:
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["text"]))
        return _back(order)
    actions.order_note_add(order=order, user=request.user, text=form.cleaned_data["text"])
    messages.success(request, "Note added to the timeline.")
    return _back(order)


def order_action_urls() -> list:
    """The actions' routes, inside the Orders viewset's URL namespace."""
    return [
        path("<int:pk>/cancel/", cancel_view, name="cancel"),
        path("<int:pk>/resend-confirmation/", resend_view, name="resend_confirmation"),
        path("<int:pk>/notes/", note_view, name="add_note"),
    ]
