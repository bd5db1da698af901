"""The dashboard's warning when the shop cannot ship: no live, active rate covers a country
it ships to, so every Buy is refused. Shown to whoever may change rates; otherwise nothing."""

from collections.abc import Mapping
from typing import Any

from django.urls import reverse
from wagtail.admin.ui.components import Component

from shop.models import ShippingRate
from shop.shipping import shipping_offer


class ShippingWarningPanel(Component):
    name = "shipping_warning"
    template_name = "shop/admin/shipping_warning_panel.html"
    order = 90

    def __init__(self, request) -> None:
        self.request = request

    def render_html(self, parent_context: Mapping[str, Any] | None = None) -> str:
        policy = ShippingRate.snippet_viewset.permission_policy
        if not policy.user_has_any_permission(self.request.user, ["add", "change", "publish"]):
            return ""
        if shipping_offer(subtotal=0).options:
            return ""
        return super().render_html(parent_context)

    def get_context_data(self, parent_context: Mapping[str, Any] | None = None) -> dict:
        return {"rates_url": reverse(ShippingRate.snippet_viewset.get_url_name("list"))}
