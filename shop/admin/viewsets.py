"""Orders in the Wagtail admin: a read-only ledger beside the Products snippets.

Orders are not content: no drafts, revisions or choosers, so they get a plain
``ModelViewSet`` rather than a snippet. Nobody creates, edits or deletes an order here,
superusers included: every change goes through ``shop.services.fulfilment``, which
enforces the allowed transitions and writes them on the order's timeline (shown on the
inspect page), and an order deleted while its payment session could still be paid would
lose that payment.
"""

import datetime as dt

import django_filters
from django import forms
from django.contrib.auth import get_permission_codename, get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import Column, NumberColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets import BooleanRadioSelect
from wagtail.coreutils import multigetattr
from wagtail.permission_policies import ModelPermissionPolicy

from shop import selectors
from shop.admin import shipping
from shop.admin.order_actions import order_action_urls, order_actions_for, order_disputes
from shop.admin.refunds import OrderRefundView, refund_button
from shop.models import Dispute, Order, OrderEvent, OrderLine, PaymentEvent
from shop.money import format_money
from shop.payments import payment_url

# Characters that make a spreadsheet read a cell as a formula.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_STALE_MINUTES = int(selectors.STALE_PENDING_AFTER.total_seconds() // 60)


# The actions of Order.Meta.permissions named "<action>_order" ("ship" → shop.ship_order).
ORDER_ACTIONS = frozenset(
    codename.removesuffix("_order")
    for codename, _ in Order._meta.permissions
    if codename.endswith("_order")
)


class OrderPermissionPolicy(ModelPermissionPolicy):
    """Viewing follows the ``view_order`` permission and each action (``ship``) its own;
    nobody may add, change or delete."""

    def user_has_permission(self, user, action: str) -> bool:
        return (action == "view" or action in ORDER_ACTIONS) and super().user_has_permission(
            user, action
        )

    def users_with_any_permission(self, actions) -> QuerySet:
        if "view" not in actions:
            return get_user_model().objects.none()
        return super().users_with_any_permission(["view"])


def with_item_count(orders: QuerySet[Order]) -> QuerySet[Order]:
    """``item_count``: units bought in each order, in the same query (no query per row)."""
    units = (
        OrderLine.objects.filter(order=OuterRef("pk"))
        .order_by()
        .values("order")
        .annotate(units=Sum("quantity"))
        .values("units")
    )
    return orders.annotate(item_count=Coalesce(Subquery(units, output_field=IntegerField()), 0))


def with_disputed_flag(orders: QuerySet[Order]) -> QuerySet[Order]:
    """``has_open_dispute`` on each order, in the same query (the status cell's badge)."""
    return orders.annotate(
        has_open_dispute=Exists(Dispute.objects.open().filter(order=OuterRef("pk")))
    )


class OrderFilterSet(WagtailFilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=Order.Status.choices, widget=forms.CheckboxSelectMultiple
    )
    created_at = django_filters.DateFromToRangeFilter(label="Created", widget=DateRangePickerWidget)
    stale_pending = django_filters.BooleanFilter(
        label=f"Unfinished checkout (started over {_STALE_MINUTES} minutes ago, not paid)",
        method="filter_stale_pending",
        widget=BooleanRadioSelect,
    )
    fulfilment_status = shipping.fulfilment_status_filter()

    disputed = django_filters.ChoiceFilter(
        label="Disputed",
        choices=[("open", "Open dispute"), ("any", "Any dispute")],
        method="filter_disputed",
        empty_label="All orders",
    )

    amounts_mismatch = django_filters.BooleanFilter(
        label="Amounts do not match (paid at the provider, not marked paid)",
        widget=BooleanRadioSelect,
    )

    class Meta:
        model = Order
        fields = [
            "status",
            "fulfilment_status",
            "created_at",
            "stale_pending",
            "disputed",
            "amounts_mismatch",
        ]

    def filter_disputed(self, queryset: QuerySet[Order], name: str, value):
        disputes = Dispute.objects.filter(order__isnull=False)
        if value == "open":
            disputes = disputes.open()
        elif value != "any":
            return queryset
        return queryset.filter(pk__in=disputes.values("order_id"))

    def filter_stale_pending(self, queryset: QuerySet[Order], name: str, value):
        if value is None:
            return queryset
        stale = selectors.order_list_awaiting_confirmation().values("pk")
        return queryset.filter(pk__in=stale) if value else queryset.exclude(pk__in=stale)


def format_datetime(value: dt.datetime | None) -> str:
    """A moment as the shop writes it everywhere (DATETIME_FORMAT), in the shop's time zone."""
    if value is None:
        return ""
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")


def lines_summary(lines) -> str:
    """An order's lines in one cell: "2 × Stoneware Mug, 1 × Canvas Tote"."""
    return ", ".join(f"{line.quantity} × {line.product_name}" for line in lines.all())


class DateTimeColumn(Column):
    """A date and time written out in full, not Wagtail's "3 days ago"."""

    def get_value(self, instance):
        return format_datetime(super().get_value(instance))


class OrderStatusColumn(Column):
    """The status as a badge coloured by what it means for the shop (see css/admin.css)."""

    cell_template_name = "shop/admin/order_status_cell.html"

    def __init__(self, **kwargs):
        super().__init__("status", label="Status", **kwargs)

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context["order"] = instance
        return context


def _csv_safe(value):
    # A shopper-supplied value must not run as a formula in the operator's spreadsheet.
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


class OrderIndexView(generic.IndexView):
    # XLSX needs nothing: Wagtail writes formula-looking cells as text there. Its datetime
    # cells carry the number format made from SHORT_DATETIME_FORMAT, so they read the same.
    custom_field_preprocess = {
        field: {"csv": _csv_safe} for field in ("customer_email", *shipping.EXPORT_TEXT_FIELDS)
    }
    custom_value_preprocess = {
        **generic.IndexView.custom_value_preprocess,
        dt.datetime: {
            **generic.IndexView.custom_value_preprocess[dt.datetime],
            "csv": format_datetime,
        },
    }

    @cached_property
    def header_buttons(self):
        return [*super().header_buttons, *shipping.index_header_buttons(self.request)]

    def get_base_queryset(self) -> QuerySet[Order]:
        orders = with_disputed_flag(with_item_count(super().get_base_queryset()))
        if self.is_export:
            # One query for every exported order's lines, not one per row.
            orders = orders.prefetch_related(Prefetch("lines", OrderLine.objects.order_by("pk")))
        return orders

    def to_row_dict(self, item: Order) -> dict:
        # "items" is not an attribute: Wagtail's lookup would call the lines manager.
        return {
            field: lines_summary(item.lines) if field == "items" else multigetattr(item, field)
            for field in self.list_export
        }


class RefuseWritesMixin:
    """Answer every add, edit or delete request with 403 and a page that says why.

    Wagtail's admin turns PermissionDenied into a redirect to the dashboard; an order is
    never writable here, so a plain "forbidden" is the honest answer (and what API clients
    and tests expect).
    """

    def dispatch(self, request, *args, **kwargs):
        if not self.user_has_permission(self.permission_required):
            return TemplateResponse(
                request,
                "shop/admin/order_read_only.html",
                {"index_url": reverse("orders:index")},
                status=403,
            )
        return super().dispatch(request, *args, **kwargs)


class OrderCreateView(RefuseWritesMixin, generic.CreateView):
    pass


class OrderEditView(RefuseWritesMixin, generic.EditView):
    pass


class OrderDeleteView(RefuseWritesMixin, generic.DeleteView):
    pass


class OrderInspectView(generic.InspectView):
    template_name = "shop/admin/order_inspect.html"
    labels = {
        "customer_email": "Customer e-mail",
        "user": "Account",
        "created_at": "Created",
        "awaiting_confirmation_since": "Awaiting confirmation since",
        "paid_at": "Paid",
        "confirmation_emailed_at": "Confirmation e-mailed",
        "updated_at": "Last changed",
        "payment_session_id": "Checkout session",
        "session_expires_at": "Checkout session expires",
        "payment_id": "Payment",
        "payment_declined_at": "Payment declined",
        "amount_refunded": "Refunded",
        "decline_reason": "Decline reason",
        "amount_subtotal": "Subtotal",
        "promotion_code": "Promotion code",
        "amount_discount": "Discount",
        "amount_shipping": "Shipping",
        "amount_tax": "Tax",
        "amount_total": "Total",
        "invoice_id": "Invoice",
    }

    def get_field_label(self, field_name, field):
        return self.labels.get(field_name) or super().get_field_label(field_name, field)

    @cached_property
    def header_buttons(self):
        button = refund_button(self.request.user, self.object)
        return [*super().header_buttons, *([button] if button else [])]

    def get_amount_refunded_display_value(self):
        return self.object.refunded_display

    def get_field_display_value(self, field_name, field):
        value = getattr(self.object, field_name, None)
        if isinstance(value, dt.datetime):
            return format_datetime(value)
        value = super().get_field_display_value(field_name, field)
        return "—" if value in (None, "") else value

    def get_status_display_value(self):
        self.object.has_open_dispute = Dispute.objects.open().filter(order=self.object).exists()
        return render_to_string("shop/admin/order_status.html", {"order": self.object})

    def get_amount_subtotal_display_value(self):
        return format_money(self.object.amount_subtotal, self.object.currency)

    def get_amount_shipping_display_value(self):
        return format_money(self.object.amount_shipping, self.object.currency)

    def get_amount_discount_display_value(self):
        discount = self.object.amount_discount
        return f"−{self.object.discount_display}" if discount else "—"

    def get_amount_tax_display_value(self):
        order = self.object
        if not order.amount_tax:
            return "—"
        included = " (included in the prices)" if order.tax_included else ""
        return f"{order.tax_display}{included}"

    def get_amount_total_display_value(self):
        return self.object.total_display

    def get_invoice_id_display_value(self):
        """The provider's invoice, with its hosted page and PDF when its events gave them."""
        order = self.object
        if not order.invoice_id:
            return "Asked for at checkout; none reported yet" if order.invoice_requested else "—"
        links = [
            format_html('<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>', url, label)
            for url, label in (
                (order.invoice_hosted_url, "Invoice"),
                (order.invoice_pdf_url, "PDF"),
            )
            if url
        ]
        if not links:
            return f"{order.invoice_id} (links not reported yet)"
        return format_html(
            "{} ({})", order.invoice_id, format_html_join(" · ", "{}", ((link,) for link in links))
        )

    def get_user_display_value(self):
        user = self.object.user
        return user.get_username() if user else "Guest"

    def get_payment_id_display_value(self):
        payment_id = self.object.payment_id
        url = payment_url(payment_id, self.object.payment_session_id)
        if url is None:
            return payment_id
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>', url, payment_id
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(shipping.inspect_context(self.request, self.object))
        context["lines"] = list(self.object.lines.all())
        context["timeline"] = list(
            OrderEvent.objects.filter(order=self.object).select_related("user")
        )
        context["refunds"] = list(
            self.object.refunds.select_related("requested_by").prefetch_related("lines__order_line")
        )
        context["events"] = list(
            PaymentEvent.objects.filter(order=self.object)
            .order_by("received_at", "pk")
            .only("provider_event_id", "type", "received_at")
        )
        context["order_actions"] = order_actions_for(self.request.user, self.object)
        context["disputes"] = order_disputes(self.object)
        return context


class OrderViewSet(ModelViewSet):
    model = Order
    name = "orders"
    icon = "list-ul"
    menu_label = "Orders"
    index_view_class = OrderIndexView
    add_view_class = OrderCreateView
    edit_view_class = OrderEditView
    delete_view_class = OrderDeleteView
    inspect_view_class = OrderInspectView
    inspect_view_enabled = True
    copy_view_enabled = False
    # Orders hold snapshots; tracking their references to products would only add queries
    # to every save on the payment path.
    add_to_reference_index = False
    list_per_page = 50
    # The add and edit views refuse everyone; should that ever change, the form still has
    # no fields, so no money, status or identity can be typed in.
    form_fields: list[str] = []
    ordering = "-created_at"
    list_display = [
        "reference",
        DateTimeColumn("created_at", label="Created", sort_key="created_at"),
        Column("customer_email", label="Customer e-mail"),
        OrderStatusColumn(),
        shipping.FulfilmentStatusColumn(),
        Column("total_display", label="Total", sort_key="amount_total"),
        NumberColumn("item_count", label="Units"),
    ]
    filterset_class = OrderFilterSet
    search_fields = ["reference", "customer_email", "payment_session_id", "payment_id"]
    # A plain substring match in the database on exactly these fields.
    search_backend_name = None
    list_export = [
        "reference",
        "created_at",
        "paid_at",
        "customer_email",
        "status_label",
        "currency",
        "amount_total",
        "total_display",
        "items",
        "item_count",
        "payment_session_id",
        "payment_id",
        "amount_subtotal",
        "amount_shipping",
        "promotion_code",
        "amount_discount",
        "amount_tax",
        *shipping.EXPORT_FIELDS,
    ]
    export_headings = {
        "created_at": "Created",
        "paid_at": "Paid",
        "customer_email": "Customer e-mail",
        "status_label": "Status",
        "amount_total": "Total (minor units)",
        "total_display": "Total",
        "items": "Items",
        "item_count": "Units",
        "payment_session_id": "Checkout session",
        "payment_id": "Payment",
        "amount_subtotal": "Subtotal (minor units)",
        "amount_shipping": "Shipping (minor units)",
        "promotion_code": "Promotion code",
        "amount_discount": "Discount (minor units)",
        "amount_tax": "Tax (minor units)",
        **shipping.EXPORT_HEADINGS,
    }
    export_filename = "orders"
    # Never the checkout token or guest token: those are bearer credentials.
    inspect_view_fields = [
        "reference",
        "status",
        "customer_email",
        "user",
        "created_at",
        "awaiting_confirmation_since",
        "paid_at",
        "amount_refunded",
        "payment_declined_at",
        "decline_reason",
        "confirmation_emailed_at",
        "updated_at",
        "payment_session_id",
        "session_expires_at",
        "payment_id",
        "amount_subtotal",
        "promotion_code",
        "amount_discount",
        "amount_shipping",
        "amount_tax",
        "amount_total",
        "invoice_id",
    ]

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            *shipping.order_shipping_urls(self),
            *order_action_urls(),
            path("refund/<int:pk>/", OrderRefundView.as_view(), name="refund"),
        ]

    def get_permissions_to_register(self):
        # Viewing and the actions of Order.Meta.permissions; add, change and delete would
        # be misleading checkboxes (nobody may do those).
        return Permission.objects.filter(
            content_type=ContentType.objects.get_for_model(Order),
            codename__in=[
                get_permission_codename("view", Order._meta),
                *(codename for codename, _ in Order._meta.permissions),
            ],
        )
