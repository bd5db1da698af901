"""The Products snippet's list and edit views: what is in stock, held and sold of each."""

from wagtail.admin.ui.tables import Column
from wagtail.snippets.views.snippets import EditView, IndexView

from shop.stock import stock_levels

NOT_TRACKED = "—"


class StockColumn(Column):
    """One of a product's stock figures, or "—" when its stock is not tracked.

    Reads the ``stock_level`` the index view puts on each row, so the page costs the same
    few queries however many products it lists.
    """

    def __init__(self, figure: str, label: str, **kwargs):
        super().__init__(f"stock_{figure}", label=label, **kwargs)
        self.figure = figure

    def get_value(self, instance):
        level = getattr(instance, "stock_level", None)
        if level is None or level.available is None:
            return NOT_TRACKED
        return getattr(level, self.figure)


class ProductIndexView(IndexView):
    def get_table(self, object_list):
        products = list(object_list)
        levels = stock_levels([product.pk for product in products])
        for product in products:
            product.stock_level = levels.get(product.pk)
        return super().get_table(products)


class ProductEditView(EditView):
    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        form.show_stock_level(stock_levels([self.object.pk]).get(self.object.pk))
        return form
