"""The admin dashboard's panels: today's and this week's sales and stuck payments; products
running out and orders paid for units that were no longer there."""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from wagtail.admin.ui.components import Component
from wagtail.permissions import policy_registry

from home.models import StoreSettings
from shop import selectors
from shop.models import Dispute, Order, Product
from shop.money import format_money
from shop.stock import StockLevel, stock_levels

# The dashboard is a summary: the oldest flagged orders are a click away in the list.
OVERSOLD_SHOWN = 10


def _revenue(sales: selectors.Sales) -> str:
    if not sales.totals:
        return format_money(0, settings.SHOP_CURRENCY)
    # One figure per currency: adding dollars to euros would be meaningless.
    return " + ".join(format_money(amount, currency) for currency, amount in sales.totals.items())


class OrderViewersPanel(Component):
    """A dashboard panel about orders: shown only to users who may view them."""

    def __init__(self, request) -> None:
        self.request = request

    def render_html(self, parent_context: Mapping[str, Any] | None = None) -> str:
        policy = policy_registry.get_by_type(Order)
        if not policy.user_has_permission(self.request.user, "view"):
            return ""
        return super().render_html(parent_context)


class OrdersSummaryPanel(OrderViewersPanel):
    name = "shop_orders_summary"
    template_name = "shop/admin/orders_panel.html"
    order = 90

    def get_context_data(self, parent_context: Mapping[str, Any] | None = None) -> dict:
        now = timezone.now()
        start_of_today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
        today = selectors.order_sales_since(start_of_today)
        week = selectors.order_sales_since(now - dt.timedelta(days=7))
        stale_after = selectors.STALE_PENDING_AFTER
        return {
            "today_orders": today.orders,
            "today_revenue": _revenue(today),
            "week_orders": week.orders,
            "week_revenue": _revenue(week),
            "stale_count": selectors.order_list_awaiting_confirmation(now=now).count(),
            "stale_minutes": int(stale_after.total_seconds() // 60),
            "stale_url": reverse("orders:index") + "?stale_pending=true",
            "orders_url": reverse("orders:index"),
        }


@dataclass(frozen=True)
class LowStockProduct:
    product: Product
    level: StockLevel

    @property
    def sold_out(self) -> bool:
        return self.level.available <= 0


def product_list_low_on_stock(*, threshold: int) -> list[LowStockProduct]:
    """Tracked products with nothing available or fewer than ``threshold`` units, fewest first."""
    products = list(Product.objects.filter(stock__isnull=False).only("pk", "name"))
    levels = stock_levels([product.pk for product in products])
    low = [
        LowStockProduct(product, levels[product.pk])
        for product in products
        if product.pk in levels
        and levels[product.pk].available is not None
        and levels[product.pk].available < max(threshold, 1)
    ]
    return sorted(low, key=lambda entry: (entry.level.available, entry.product.name))


class StockAlertsPanel(Component):
    name = "shop_stock_alerts"
    template_name = "shop/admin/stock_panel.html"
    order = 95

    def __init__(self, request) -> None:
        self.request = request

    def _can(self, model, actions) -> bool:
        if model is Product:
            policy = Product.snippet_viewset.permission_policy
        else:
            policy = policy_registry.get_by_type(model)
        return policy.user_has_any_permission(self.request.user, actions)

    def render_html(self, parent_context: Mapping[str, Any] | None = None) -> str:
        self.show_products = self._can(Product, ["change", "publish"])
        self.show_orders = self._can(Order, ["view"])
        if not (self.show_products or self.show_orders):
            return ""
        return super().render_html(parent_context)

    def get_context_data(self, parent_context: Mapping[str, Any] | None = None) -> dict:
        context = {"show_products": self.show_products, "show_orders": self.show_orders}
        if self.show_products:
            threshold = StoreSettings.for_request(self.request).low_stock_threshold
            edit = Product.snippet_viewset.get_url_name("edit")
            context["threshold"] = threshold
            context["low_stock"] = [
                (entry, reverse(edit, args=[entry.product.pk]))
                for entry in product_list_low_on_stock(threshold=threshold)
            ]
        if self.show_orders:
            oversold = Order.objects.filter(oversold=True).order_by("-created_at")
            context["oversold_count"] = oversold.count()
            context["oversold"] = [
                (order, reverse("orders:inspect", args=[order.pk]))
                for order in oversold[:OVERSOLD_SHOWN]
            ]
            context["orders_url"] = reverse("orders:index")
        return context


class DisputesPanel(OrderViewersPanel):
    """Open disputes: how many, linking to the orders list filtered to them. Shown to
    whoever may view orders, and only when there is something to answer."""

    name = "shop_disputes"
    template_name = "shop/admin/disputes_panel.html"
    order = 85

    def render_html(self, parent_context: Mapping[str, Any] | None = None) -> str:
        return super().render_html(parent_context) if Dispute.objects.open().exists() else ""

    def get_context_data(self, parent_context: Mapping[str, Any] | None = None) -> dict:
        open_disputes = Dispute.objects.open()
        due = open_disputes.filter(evidence_due_by__isnull=False).order_by("evidence_due_by")
        return {
            "open_count": open_disputes.count(),
            "next_due": due.first(),
            "unmatched_count": open_disputes.filter(order__isnull=True).count(),
            "disputed_url": reverse("orders:index") + "?disputed=open",
        }
