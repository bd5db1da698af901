"""The admin's "Shop" menu: Products (snippets with drafts, previews, scheduling)."""

from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import BooleanColumn, LiveStatusTagColumn, UpdatedAtColumn
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from shop.models import Product


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


class ShopViewSetGroup(SnippetViewSetGroup):
    menu_label = "Shop"
    menu_icon = "pick"
    menu_order = 200
    items = (ProductViewSet,)


register_snippet(ShopViewSetGroup)
