"""The admin's "Shop" menu: Products (snippets with drafts, previews, scheduling) and Orders
(read-only, ``shop.admin.viewsets``), and the dashboard's orders and stock panels."""

from django.templatetags.static import static
from django.utils.html import format_html
from wagtail import hooks
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import BooleanColumn, Column, LiveStatusTagColumn, UpdatedAtColumn
from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from shop.admin.panels import DisputesPanel, OrdersSummaryPanel, StockAlertsPanel
from shop.admin.products import ProductEditView, ProductIndexView, StockColumn
from shop.admin.shipping import ShippingQueuePanel
from shop.admin.shipping_warning import ShippingWarningPanel
from shop.admin.viewsets import OrderPermissionPolicy, OrderViewSet
from shop.models import Order, Product, PromotionCode, ShippingRate
from shop.promotions import codes_with_redemptions

# Registered before any viewset asks for it, or Wagtail would fall back to plain model
# permissions (which let superusers edit and delete orders).
register_permission_policy(Order, OrderPermissionPolicy(Order))


class ProductFilterSet(WagtailFilterSet):
    class Meta:
        model = Product
        fields = ["available", "live"]


class ProductViewSet(SnippetViewSet):
    model = Product
    icon = "tag"
    menu_label = "Products"
    list_display = [
        "name",
        "price_display",
        StockColumn("stock", "Stock"),
        StockColumn("held", "Held"),
        StockColumn("sold", "Sold"),
        LiveStatusTagColumn(),
        BooleanColumn("available"),
        UpdatedAtColumn(),
    ]
    filterset_class = ProductFilterSet
    search_fields = ["name"]
    # A plain name match in the database: predictable for editors on SQLite and PostgreSQL.
    search_backend_name = None
    sort_order_field = "sort_order"
    copy_view_enabled = False
    index_view_class = ProductIndexView
    edit_view_class = ProductEditView


class ShippingRateViewSet(SnippetViewSet):
    model = ShippingRate
    icon = "site"
    menu_label = "Shipping rates"
    list_display = [
        "name",
        Column("price_display", label="Price", sort_key="amount"),
        Column("countries_display", label="Countries"),
        Column("estimate_display", label="Delivery estimate"),
        Column("free_from_display", label="Free from", sort_key="free_from"),
        LiveStatusTagColumn(),
        BooleanColumn("active"),
        UpdatedAtColumn(),
    ]
    list_filter = ["active", "live"]
    sort_order_field = "sort_order"
    copy_view_enabled = False


class PromotionCodeViewSet(SnippetViewSet):
    model = PromotionCode
    icon = "tag"
    menu_label = "Promotion codes"
    list_display = [
        "code",
        Column("discount_display", label="Discount"),
        Column("redeemed", label="Redeemed", sort_key="redeemed"),
        Column("held", label="Held", sort_key="held"),
        Column("max_redemptions", label="Maximum", sort_key="max_redemptions"),
        Column("valid_until", label="Valid until", sort_key="valid_until"),
        LiveStatusTagColumn(),
        BooleanColumn("active"),
        UpdatedAtColumn(),
    ]
    list_filter = ["active", "live"]
    search_fields = ["code"]
    search_backend_name = None
    copy_view_enabled = False

    def get_queryset(self, request):
        # Redeemed (paid orders) and held (open checkouts), counted in the list's one query.
        return codes_with_redemptions()


class ShopViewSetGroup(SnippetViewSetGroup):
    menu_label = "Shop"
    menu_icon = "pick"
    menu_order = 200
    items = (ProductViewSet, ShippingRateViewSet, PromotionCodeViewSet, OrderViewSet)


register_snippet(ShopViewSetGroup)


@hooks.register("construct_homepage_panels")
def add_orders_summary_panel(request, panels) -> None:
    panels.append(OrdersSummaryPanel(request))
    panels.append(ShippingQueuePanel(request))
    panels.append(StockAlertsPanel(request))
    panels.append(DisputesPanel(request))
    panels.append(ShippingWarningPanel(request))


@hooks.register("insert_global_admin_css")
def shop_admin_css() -> str:
    return format_html('<link rel="stylesheet" href="{}">', static("css/admin.css"))
