"""The admin dashboard's orders panel: today's and this week's sales, and stuck payments."""

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from wagtail.admin.ui.components import Component
from wagtail.permissions import policy_registry

from shop import selectors
from shop.models import Order
from shop.money import format_money


def _revenue(sales: selectors.Sales) -> str:
    if not sales.totals:
        return format_money(0, settings.SHOP_CURRENCY)
    # One figure per currency: adding dollars to euros would be meaningless.
    return " + ".join(format_money(amount, currency) for currency, amount in sales.totals.items())


class OrdersSummaryPanel(Component):
    name = "shop_orders_summary"
    template_name = "shop/admin/orders_panel.html"
    order = 90

    def __init__(self, request) -> None:
        self.request = request

    def render_html(self, parent_context: Mapping[str, Any] | None = None) -> str:
        policy = policy_registry.get_by_type(Order)
        if not policy.user_has_permission(self.request.user, "view"):
            return ""
        return super().render_html(parent_context)

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
