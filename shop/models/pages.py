"""The shop page: the catalogue, the Buy form and the shopper's orders, at the site root."""

import uuid

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db import models
from django.http import Http404, JsonResponse
from django.template.response import TemplateResponse
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.routable_page.models import RoutablePageMixin, path, re_path
from wagtail.fields import RichTextField
from wagtail.models import Page, PagePermissionTester
from wagtail.search import index

from home.models import StoreSettings
from shop.models.orders import REFERENCE_REGEX, Order, reference_normalise
from shop.order_cards import order_cards
from shop.order_keys import KEY_PARAMETER, order_link_opens
from shop.shipping import shipping_summary
from shop.shop_state import remembered
from shop.shoppers import guest_cookie_attach, shopper_from_request

RECENT_ORDERS_ON_PAGE = 10
# Set when the shopper comes back from paying: on the next shop page their order goes right
# under the message about it, above the catalogue.
ORDERS_FIRST_SESSION_KEY = "shop:orders_first"
ORDERS_PER_HISTORY_PAGE = 20


class ShopPagePermissionTester(PagePermissionTester):
    """Editors edit and publish the shop page; deleting or moving it is for superusers."""

    def can_delete(self, ignore_bulk=False):
        # Wagtail lets "change" delete a leaf page, and moving is checked as deleting.
        return self.user.is_superuser and super().can_delete(ignore_bulk)


class ShopPage(RoutablePageMixin, Page):
    intro = RichTextField(features=["bold", "italic", "link"], blank=True)
    max_quantity = models.PositiveSmallIntegerField(
        default=10, help_text="The most of one product a shopper can buy in one order."
    )

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("max_quantity")]
    search_fields = [*Page.search_fields, index.SearchField("intro")]

    max_count = 1
    parent_page_types = ["wagtailcore.Page"]
    subpage_types: list[str] = []
    template = "shop/shop_page.html"

    class Meta:
        verbose_name = "shop page"

    def permissions_for_user(self, user):
        return ShopPagePermissionTester(user, self)

    def shop_context(self, request, *, chosen_quantities=None) -> dict:
        """The shop view's own context: a fresh checkout token for the Buy form, the
        quantities to show in it, and this shopper's recent orders (the product cards come
        from the ``product_cards`` template tag)."""
        store = StoreSettings.for_request(request)
        shopper = shopper_from_request(request)
        # A guest without a token (a first visit: their guest cookie comes with this page,
        # ``render_shop``) has no orders: no query, and no session.
        orders = (
            list(Order.objects.history_of(shopper)[: RECENT_ORDERS_ON_PAGE + 1])
            if shopper.user_id or shopper.guest_token
            else []
        )
        return {
            # A fresh token per render: resubmitting this page's form finds the same order.
            "checkout_token": uuid.uuid4(),
            "chosen_quantities": chosen_quantities or {},
            "recent_orders": order_cards(request, self, orders[:RECENT_ORDERS_ON_PAGE]),
            "more_orders": len(orders) > RECENT_ORDERS_ON_PAGE,
            # The live rates, read once per process while the shop's version holds.
            "shipping_note": remembered(
                request,
                ("shipping-note", store.pk),
                lambda: (shipping_summary(currency=settings.SHOP_CURRENCY, settings=store), None),
            ),
            "tax_note": store.get_tax_behavior_display() if store.automatic_tax else "",
        }

    def render_shop(
        self, request, *, status: int = 200, chosen_quantities=None, **extra_context
    ) -> TemplateResponse:
        """The shop view, with ``extra_context`` on top and answered with ``status``.

        The shop route renders it, and so does the checkout view when it refuses a cart
        (with the shopper's quantities and the reason).
        """
        context = self.shop_context(request, chosen_quantities=chosen_quantities)
        context.update(extra_context)
        response = self.render(request, context_overrides=context)
        response.status_code = status
        # Two clicks on this page's Buy sent before the first answer arrives, or a Buy retried
        # after an error page (whose session changes Django does not save), come from the same
        # guest through this cookie and find one order.
        guest_cookie_attach(request, response)
        return response

    @path("")
    def shop(self, request):
        orders_first = request.session.pop(ORDERS_FIRST_SESSION_KEY, None) is not None
        return self.render_shop(request, orders_first=orders_first)

    @path("orders/")
    def order_history(self, request):
        shopper = shopper_from_request(request)
        paginator = Paginator(Order.objects.history_of(shopper), ORDERS_PER_HISTORY_PAGE)
        orders_page = paginator.get_page(request.GET.get("page"))
        return self.render(
            request,
            template="shop/order_history.html",
            context_overrides={
                "orders_page": orders_page,
                "order_cards": order_cards(request, self, list(orders_page.object_list)),
            },
        )

    def _order_for(self, request, reference):
        """The order ``reference`` for this request, and whether its signed link opened it.

        Its owner sees it, and anyone holding its e-mail's signed link sees it read-only.
        A logged-out visitor asking for an account's order is sent to log in and back (the
        answer is then a response); anyone else gets a 404, not a 403: another shopper's
        order must not be seen to exist.
        """
        reference = reference_normalise(reference)
        orders = Order.objects.by_reference(reference)
        order = orders.owned_by(shopper_from_request(request)).with_lines().first()
        key = request.GET.get(KEY_PARAMETER, "")
        by_link = order is None and bool(key) and order_link_opens(reference, key)
        if by_link:
            order = orders.with_lines().first()
        if order is None:
            if not request.user.is_authenticated and orders.filter(user__isnull=False).exists():
                return redirect_to_login(request.get_full_path()), False
            raise Http404("No such order.")
        return order, by_link

    def _render_order_page(self, request, *, template, order, by_link, **context):
        response = self.render(
            request,
            template=template,
            context_overrides={
                "order": order,
                "by_link": by_link,
                # The signed link's key, carried to the order's other page (order ↔ receipt).
                "order_key": request.GET.get(KEY_PARAMETER, "") if by_link else "",
                **context,
            },
        )
        if by_link:
            # The key opens the order: keep the page out of shared caches and Referer headers.
            response["Cache-Control"] = "private, no-store"
            response["Referrer-Policy"] = "no-referrer"
        return response

    @re_path(rf"^orders/(?P<reference>{REFERENCE_REGEX})/$")
    def order_detail(self, request, reference):
        """One order: for its owner, or read-only for anyone holding its e-mail's signed link."""
        order, by_link = self._order_for(request, reference)
        if not isinstance(order, Order):
            return order
        return self._render_order_page(
            request,
            template="shop/order_detail.html",
            order=order,
            by_link=by_link,
        )

    @re_path(rf"^orders/(?P<reference>{REFERENCE_REGEX})/receipt/$")
    def order_receipt(self, request, reference):
        """A paid order's printable receipt, for whoever may see the order (same rules).

        An order not paid (or no longer: refunded orders keep theirs) has none: 404.
        """
        order, by_link = self._order_for(request, reference)
        if not isinstance(order, Order):
            return order
        if not order.has_receipt:
            raise Http404("No receipt for this order.")
        return self._render_order_page(
            request,
            template="shop/order_receipt.html",
            order=order,
            by_link=by_link,
            store=StoreSettings.for_request(request),
        )

    @re_path(rf"^orders/(?P<reference>{REFERENCE_REGEX})/status/$")
    def order_status(self, request, reference):
        """A pending order's status as JSON, polled by the shop page until it settles."""
        shopper = shopper_from_request(request)
        order = Order.objects.by_reference(reference).owned_by(shopper).first()
        if order is None:
            raise Http404("No such order.")
        return JsonResponse(
            {
                "reference": order.reference,
                "status": order.status,
                "label": order.status_for_shopper,
            },
            headers={"Cache-Control": "no-store"},
        )
