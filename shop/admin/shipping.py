"""Shipping in the admin: Mark as shipped / delivered on an order, Ship orders for several at
once, the printable packing slip, the orders list's fulfilment column and filter, and the
dashboard's "waiting to ship" panel.

Shipping needs ``shop.ship_order`` (the Fulfilment group); the packing slip and the panel
need only ``view_order``. Users without the permission get a 403 page, not Wagtail's
redirect to the dashboard (see ``RefuseWritesMixin``). The changes themselves are made by
``shop.services.shipments``; these views parse, call it and say what it answered.
"""

from collections.abc import Mapping
from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views import View
from django.views.generic import FormView
from wagtail.admin.ui.components import Component
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets import HeaderButton
from wagtail.permissions import policy_registry

from home.models import StoreSettings
from shop.models import Order, Source
from shop.services.shipments import (
    CARRIER_MAX_LENGTH,
    TRACKING_NUMBER_MAX_LENGTH,
    TRACKING_URL_MAX_LENGTH,
    ShipmentRefused,
    order_mark_delivered,
    order_ship,
    orders_ship,
    shipment_details_clean,
    shipment_refusal,
)

# The largest primary key the database holds (BigAutoField); a larger number names no order
# and must not reach the database, which would refuse it with an error.
MAX_ORDER_ID = 2**63 - 1
# Orders the Ship orders page and the dashboard list at once, oldest paid first.
SHIP_ORDERS_SHOWN = 100
WAITING_SHOWN = 10


# The orders export's shipping columns (after the amounts), and their headings. Text typed
# by shoppers or operators goes through the export's spreadsheet-formula guard.
EXPORT_HEADINGS = {
    "shipping_rate_name": "Shipping rate",
    "shipping_name": "Ship to",
    "shipping_phone": "Phone",
    "shipping_line1": "Address line 1",
    "shipping_line2": "Address line 2",
    "shipping_city": "City",
    "shipping_postal_code": "Postal code",
    "shipping_region": "Region",
    "shipping_country": "Country",
    "get_fulfilment_status_display": "Fulfilment",
    "carrier": "Carrier",
    "tracking_number": "Tracking number",
    "tracking_url": "Tracking URL",
    "shipped_at": "Shipped",
    "delivered_at": "Delivered",
}
EXPORT_FIELDS = list(EXPORT_HEADINGS)
EXPORT_TEXT_FIELDS = [
    field
    for field in EXPORT_FIELDS
    if field.startswith("shipping_") or field in ("carrier", "tracking_number", "tracking_url")
]


def _can(user, action: str) -> bool:
    return policy_registry.get_by_type(Order).user_has_permission(user, action)


def orders_waiting_to_ship() -> QuerySet[Order]:
    """Paid orders not shipped yet, the longest waiting first."""
    return Order.objects.filter(
        status__in=Order.SHIPPABLE_STATUSES, fulfilment_status=Order.FulfilmentStatus.UNFULFILLED
    ).order_by("paid_at", "pk")


def _order_or_404(pk: int, queryset=None) -> Order:
    if pk > MAX_ORDER_ID:
        raise Http404("No such order.")
    return get_object_or_404(queryset if queryset is not None else Order.objects, pk=pk)


def _inspect_url(order: Order) -> str:
    return reverse("orders:inspect", args=[order.pk])


def _breadcrumbs(*items: tuple[str, str]) -> list[dict[str, str]]:
    return [
        {"url": reverse("wagtailadmin_home"), "label": "Home"},
        {"url": reverse("orders:index"), "label": "Orders"},
        *({"url": url, "label": label} for url, label in items),
    ]


class ActionPermissionMixin:
    """403, with a page that says what is missing, for users without ``action``."""

    action = "ship"
    refused_title = "You cannot ship orders"
    refused_text = (
        "Shipping orders needs the “Can ship orders” permission (the Fulfilment group). "
        "Ask an administrator if you should have it."
    )

    def dispatch(self, request, *args, **kwargs):
        if not _can(request.user, self.action):
            return TemplateResponse(
                request,
                "shop/admin/order_action_forbidden.html",
                {
                    "title": self.refused_title,
                    "text": self.refused_text,
                    "back_url": reverse("orders:index"),
                    "back_label": "Back to orders",
                },
                status=403,
            )
        return super().dispatch(request, *args, **kwargs)


class ShipmentForm(forms.Form):
    """One parcel: the service checks the details, the form puts its answer on the field."""

    carrier = forms.CharField(
        max_length=CARRIER_MAX_LENGTH, help_text="Who took the parcel, e.g. Royal Mail, DHL."
    )
    tracking_number = forms.CharField(max_length=TRACKING_NUMBER_MAX_LENGTH, required=False)
    tracking_url = forms.CharField(
        label="Tracking URL",
        max_length=TRACKING_URL_MAX_LENGTH,
        required=False,
        help_text="The carrier's page for this parcel (https://…); the shopper gets this link.",
    )

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            details = shipment_details_clean(
                carrier=data.get("carrier", ""),
                tracking_number=data.get("tracking_number", ""),
                tracking_url=data.get("tracking_url", ""),
            )
        except ShipmentRefused as refused:
            self.add_error(refused.field or None, refused.message)
            return data
        return {**data, **vars(details)}


class OrderShipView(ActionPermissionMixin, WagtailAdminTemplateMixin, FormView):
    """Mark as shipped: the form, then back to the order with what happened."""

    form_class = ShipmentForm
    template_name = "shop/admin/order_ship.html"
    header_icon = "list-ul"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.order = _order_or_404(kwargs["pk"])

    def get_page_title(self):
        return f"Mark order {self.order.reference} as shipped"

    def get_breadcrumbs_items(self):
        return _breadcrumbs(
            (_inspect_url(self.order), self.order.reference), ("", "Mark as shipped")
        )

    def get(self, request, *args, **kwargs):
        refusal = shipment_refusal(self.order)
        if refusal:
            messages.error(request, refusal)
            return HttpResponseRedirect(_inspect_url(self.order))
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            order=self.order,
            action_url=self.request.path,
            submit_button_label="Mark as shipped",
            submit_button_active_label="Marking as shipped…",
            inspect_url=_inspect_url(self.order),
            **kwargs,
        )

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            order = order_ship(
                order=self.order,
                carrier=data["carrier"],
                tracking_number=data["tracking_number"],
                tracking_url=data["tracking_url"],
                source=Source.admin_user(self.request.user),
            )
        except ShipmentRefused as refused:
            # Shipped by someone else meanwhile, or no longer paid: the order page says how.
            messages.error(self.request, refused.message)
            return HttpResponseRedirect(_inspect_url(self.order))
        note = " The customer is e-mailed the tracking details." if order.customer_email else ""
        messages.success(
            self.request, f"Order {order.reference} marked as shipped with {order.carrier}.{note}"
        )
        return HttpResponseRedirect(_inspect_url(order))


class OrderDeliverView(ActionPermissionMixin, View):
    """Mark as delivered (a POST from the order page)."""

    http_method_names = ["post"]

    def post(self, request, pk):
        order = _order_or_404(pk)
        try:
            order_mark_delivered(order=order, source=Source.admin_user(request.user))
        except ShipmentRefused as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, f"Order {order.reference} marked as delivered.")
        return HttpResponseRedirect(_inspect_url(order))


class PackingSlipView(ActionPermissionMixin, View):
    """A page to print and put in the parcel: ship-to address, lines and quantities, rate."""

    action = "view"
    refused_title = "You cannot see orders"
    refused_text = "Packing slips need the permission to view orders."

    def get(self, request, pk):
        order = _order_or_404(pk, Order.objects.with_lines())
        store = StoreSettings.for_request(request)
        return TemplateResponse(
            request,
            "shop/admin/packing_slip.html",
            {"order": order, "lines": list(order.lines.all()), "store_name": store.store_name},
        )


class ShipOrdersView(ActionPermissionMixin, WagtailAdminTemplateMixin, View):
    """Ship orders: tick the paid orders that went out, one carrier for all of them and a
    tracking number for each (optional). Each is shipped on its own; the page lists those
    refused and why (another operator shipped it first, it was refunded meanwhile)."""

    template_name = "shop/admin/ship_orders.html"
    page_title = "Ship orders"
    header_icon = "list-ul"

    def get_breadcrumbs_items(self):
        return _breadcrumbs(("", "Ship orders"))

    def _render(self, *, status: int = 200, **context):
        waiting = list(orders_waiting_to_ship()[:SHIP_ORDERS_SHOWN])
        context = self.get_context_data(
            waiting=waiting,
            waiting_total=orders_waiting_to_ship().count(),
            carrier_max_length=CARRIER_MAX_LENGTH,
            tracking_max_length=TRACKING_NUMBER_MAX_LENGTH,
            **context,
        )
        return self.render_to_response(context, status=status)

    def get(self, request):
        return self._render()

    def post(self, request):
        chosen = request.POST.getlist("order")
        ids = sorted(
            {
                int(value)
                for value in chosen
                if value.isascii() and value.isdigit() and len(value) <= 19
                if int(value) <= MAX_ORDER_ID
            }
        )
        carrier = request.POST.get("carrier", "")
        tracking = {pk: request.POST.get(f"tracking_{pk}", "") for pk in ids}
        typed = {"carrier": carrier, "chosen": set(ids), "tracking": tracking}
        if not ids or len(ids) != len(chosen):
            return self._render(status=400, error="Tick the orders that went out.", typed=typed)
        try:
            for number in tracking.values():
                shipment_details_clean(carrier=carrier, tracking_number=number)
        except ShipmentRefused as refused:
            return self._render(status=400, error=refused.message, typed=typed)
        found = {order.pk: order for order in Order.objects.filter(pk__in=ids)}
        outcome = orders_ship(
            orders=[found[pk] for pk in ids if pk in found],
            carrier=carrier,
            tracking_numbers=tracking,
            source=Source.admin_user(request.user),
        )
        outcome.refused.extend((f"#{pk}", "No such order.") for pk in ids if pk not in found)
        if outcome.shipped:
            count = len(outcome.shipped)
            messages.success(
                request, f"{count} order{'s' if count != 1 else ''} marked as shipped."
            )
        if outcome.refused:
            messages.error(request, f"{len(outcome.refused)} not shipped: see below.")
        return self._render(outcome=outcome)


def order_shipping_urls(viewset) -> list:
    """The shipping URLs, added to the Orders viewset's (``orders:ship`` and so on)."""
    return [
        path("ship/<int:pk>/", OrderShipView.as_view(), name="ship"),
        path("delivered/<int:pk>/", OrderDeliverView.as_view(), name="delivered"),
        path("packing-slip/<int:pk>/", PackingSlipView.as_view(), name="packing_slip"),
        path("ship-orders/", ShipOrdersView.as_view(), name="ship_orders"),
    ]


def inspect_context(request, order: Order) -> dict[str, Any]:
    """What the order's page shows about its shipment, and which buttons this user gets."""
    can_ship = _can(request.user, "ship")
    return {
        "shipment": {
            "order": order,
            "can_ship": can_ship and shipment_refusal(order) is None,
            "can_deliver": can_ship and order.fulfilment_status == Order.FulfilmentStatus.SHIPPED,
            "ship_url": reverse("orders:ship", args=[order.pk]),
            "delivered_url": reverse("orders:delivered", args=[order.pk]),
            "packing_slip_url": reverse("orders:packing_slip", args=[order.pk]),
        }
    }


def index_header_buttons(request) -> list[HeaderButton]:
    """Ship orders, on the orders list, for those who may."""
    if not _can(request.user, "ship"):
        return []
    return [HeaderButton("Ship orders", url=reverse("orders:ship_orders"), icon_name="upload")]


class FulfilmentStatusColumn(Column):
    """Not shipped / Shipped / Delivered, as a badge (css/admin.css)."""

    cell_template_name = "shop/admin/fulfilment_status_cell.html"

    def __init__(self, **kwargs):
        super().__init__("fulfilment_status", label="Fulfilment", **kwargs)

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context["order"] = instance
        return context


def fulfilment_status_filter() -> django_filters.Filter:
    return django_filters.MultipleChoiceFilter(
        label="Fulfilment",
        choices=Order.FulfilmentStatus.choices,
        widget=forms.CheckboxSelectMultiple,
    )


class ShippingQueuePanel(Component):
    """Dashboard: how many paid orders wait to ship, the longest waiting first."""

    name = "shop_shipping_queue"
    template_name = "shop/admin/shipping_panel.html"
    order = 92

    def __init__(self, request) -> None:
        self.request = request

    def render_html(self, parent_context: Mapping[str, Any] | None = None) -> str:
        if not (_can(self.request.user, "view") or _can(self.request.user, "ship")):
            return ""
        return super().render_html(parent_context)

    def get_context_data(self, parent_context: Mapping[str, Any] | None = None) -> dict:
        waiting = orders_waiting_to_ship()
        return {
            "waiting_count": waiting.count(),
            "waiting": [(order, _inspect_url(order)) for order in waiting[:WAITING_SHOWN]],
            "list_url": reverse("orders:index") + "?status=paid&fulfilment_status=unfulfilled",
            "ship_orders_url": (
                reverse("orders:ship_orders") if _can(self.request.user, "ship") else ""
            ),
        }
