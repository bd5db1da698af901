"""Orders in the Wagtail admin: editors find, inspect and export orders and can change none."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import openpyxl
import pytest
from bs4 import BeautifulSoup
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from wagtail import hooks
from wagtail.permissions import policy_registry

from shop.admin.viewsets import format_datetime
from shop.models import Order, Product
from shop.payments.local import session_payload
from shop.payments.stripe_json import event_from_payload
from shop.services.webhooks import payment_event_apply
from tests.support.orders import local_pay, order_checkout, order_make

pytestmark = pytest.mark.django_db

INDEX = reverse("orders:index")


@pytest.fixture
def orders(shop) -> dict[str, Order]:
    """Three orders told apart by every field an operator searches and filters on."""
    now = timezone.now()
    return {
        "paid": order_make(
            status=Order.Status.PAID,
            lines=(("Stoneware Mug", 1800, 2), ("Canvas Tote", 2450, 1)),
            email="ada@example.com",
            session_id="cs_test_paidsession0001",
            payment_id="pi_test_paidintent0001",
            created_at=now - dt.timedelta(days=3),
        ),
        "expired": order_make(
            status=Order.Status.EXPIRED,
            lines=(("Dot-Grid Notebook", 1275, 1),),
            email="grace@example.com",
            session_id="cs_test_expiredsession02",
            created_at=now - dt.timedelta(days=10),
        ),
        "pending": order_make(
            status=Order.Status.PENDING,
            lines=(("Canvas Tote", 2450, 4),),
            email="linus@example.com",
            session_id="cs_test_pendingsession03",
            created_at=now - dt.timedelta(hours=2),
        ),
    }


def listed(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return [order.reference for order in response.context["object_list"]]


# -- who may do what -----------------------------------------------------------------


def test_editor_sees_orders_in_the_admin_menu(editor_client, orders):
    response = editor_client.get(reverse("wagtailadmin_home"))

    assert response.status_code == 200
    assert f'"url": "{INDEX}"' in response.content.decode().replace("&quot;", '"')


def test_editor_can_list_orders(editor_client, orders):
    response = editor_client.get(INDEX)

    assert set(listed(response)) == {order.reference for order in orders.values()}
    html = response.content.decode()
    assert "$60.50" in html  # 2 × $18.00 + $24.50
    assert "ada@example.com" in html


def test_editor_can_inspect_an_order(editor_client, orders):
    order = orders["paid"]

    response = editor_client.get(reverse("orders:inspect", args=[order.pk]))

    assert response.status_code == 200
    page = BeautifulSoup(response.content, "html.parser")
    lines = page.select("[data-order-lines] tbody tr")
    cells = [[td.get_text(strip=True) for td in row.find_all("td")] for row in lines]
    assert cells == [
        ["Stoneware Mug", "$18.00", "2", "$36.00"],
        ["Canvas Tote", "$24.50", "1", "$24.50"],
    ]
    assert page.select_one("[data-order-total]").get_text(strip=True) == "$60.50"
    text = page.get_text(" ", strip=True)
    assert order.reference in text
    assert "cs_test_paidsession0001" in text


def test_inspect_links_the_payment_to_the_stripe_test_dashboard(editor_client, orders):
    order = orders["paid"]

    response = editor_client.get(reverse("orders:inspect", args=[order.pk]))

    page = BeautifulSoup(response.content, "html.parser")
    link = page.find("a", string="pi_test_paidintent0001")
    assert link["href"] == "https://dashboard.stripe.com/test/payments/pi_test_paidintent0001"
    # No documented Dashboard page for a Checkout Session: its id is shown, not linked.
    assert not page.find("a", href=lambda href: href and "cs_test_paidsession0001" in href)


def test_inspect_shows_the_payment_events_in_the_order_they_arrived(editor_client, shop):
    order, session = order_checkout({Product.objects.get(slug="stoneware-mug"): 1})
    paid = session_payload(local_pay(session.id))
    for event_id in ("evt_local_first", "evt_local_second"):
        payment_event_apply(
            event_from_payload(
                {
                    "id": event_id,
                    "type": "checkout.session.completed",
                    "data": {"object": paid},
                }
            )
        )

    response = editor_client.get(reverse("orders:inspect", args=[order.pk]))

    page = BeautifulSoup(response.content, "html.parser")
    rows = page.select("[data-payment-events] tbody tr")
    assert [row.find("code").get_text() for row in rows] == ["evt_local_first", "evt_local_second"]
    assert all("checkout.session.completed" in row.get_text() for row in rows)
    # A local-gateway payment is not on Stripe's Dashboard: shown as text.
    order.refresh_from_db()
    assert order.payment_id in page.get_text()
    assert not page.find("a", href=lambda href: href and "dashboard.stripe.com" in href)


def test_inspect_lists_the_order_timeline_with_where_each_change_came_from(editor_client, shop):
    order, session = order_checkout({Product.objects.get(slug="stoneware-mug"): 2})
    paid = session_payload(local_pay(session.id))
    payment_event_apply(
        event_from_payload(
            {"id": "evt_local_paid", "type": "checkout.session.completed", "data": {"object": paid}}
        )
    )
    order.refresh_from_db()

    response = editor_client.get(reverse("orders:inspect", args=[order.pk]))

    page = BeautifulSoup(response.content, "html.parser")
    rows = page.select("[data-order-timeline] tbody tr")
    cells = [[td.get_text(" ", strip=True) for td in row.find_all("td")] for row in rows]
    assert [row[1:] for row in cells] == [
        ["Placed", "Checkout", "Total $36.00"],
        [
            "Payment received: Pending → Paid",
            "Provider event evt_local_paid",
            f"$40.95 received, payment {order.payment_id}",
        ],
    ]
    assert all(row[0] for row in cells)


@pytest.mark.parametrize("client_fixture", ["editor_client", "admin_client"])
def test_nobody_can_create_edit_or_delete_an_order(request, client_fixture, orders):
    client = request.getfixturevalue(client_fixture)
    order = orders["paid"]
    urls = [
        reverse("orders:add"),
        reverse("orders:edit", args=[order.pk]),
        reverse("orders:delete", args=[order.pk]),
    ]

    for url in urls:
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"amount_total": "1", "status": "refunded"}).status_code == 403

    order.refresh_from_db()
    assert (order.amount_total, order.status) == (6050, Order.Status.PAID)
    assert Order.objects.count() == 3


def test_listing_and_inspect_offer_no_add_edit_or_delete(admin_client, orders):
    order = orders["paid"]

    listing = admin_client.get(INDEX).content.decode()
    inspect = admin_client.get(reverse("orders:inspect", args=[order.pk])).content.decode()

    for html in (listing, inspect):
        assert reverse("orders:add") not in html
        assert reverse("orders:edit", args=[order.pk]) not in html
        assert reverse("orders:delete", args=[order.pk]) not in html


def test_admin_user_without_the_view_order_permission_cannot_see_orders(client, orders):
    user = get_user_model().objects.create_user("clerk", "clerk@example.com", "pw")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)

    # Wagtail's own refusal for pages a user may not see: back to the dashboard.
    for url in (INDEX, reverse("orders:inspect", args=[orders["paid"].pk])):
        response = client.get(url)
        assert (response.status_code, response.url) == (302, reverse("wagtailadmin_home"))
    assert "shop-orders-summary" not in client.get(reverse("wagtailadmin_home")).content.decode()


def test_group_permissions_offer_viewing_and_each_order_action_but_no_writes(shop):
    offered = {
        permission.codename
        for fn in hooks.get_hooks("register_permissions")
        for permission in fn()
        if permission.content_type.model == "order"
    }

    assert offered == {
        "view_order",
        "ship_order",
        "refund_order",
        "cancel_order",
        "resend_order_email",
        "note_order",
    }


# -- finding orders --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("reference", "paid"),
        ("grace@example", "expired"),
        ("LINUS@EXAMPLE.COM", "pending"),
        ("cs_test_expiredsession02", "expired"),
        ("pi_test_paidintent0001", "paid"),
    ],
)
def test_search_finds_an_order_by_each_field(editor_client, orders, query, expected):
    if query == "reference":
        query = orders[expected].reference.lower()

    assert listed(editor_client.get(INDEX, {"q": query})) == [orders[expected].reference]


def test_search_does_not_match_other_fields(editor_client, orders):
    # Product names are in the lines, not in the searched fields.
    assert listed(editor_client.get(INDEX, {"q": "Notebook"})) == []


def test_filter_by_status(editor_client, orders):
    response = editor_client.get(INDEX, {"status": ["paid", "pending"]})

    assert set(listed(response)) == {orders["paid"].reference, orders["pending"].reference}


def test_filter_by_created_date_range(editor_client, orders):
    today = timezone.localdate()
    params = {
        "created_at_from": (today - dt.timedelta(days=5)).isoformat(),
        "created_at_to": today.isoformat(),
    }

    response = editor_client.get(INDEX, params)

    assert set(listed(response)) == {orders["paid"].reference, orders["pending"].reference}


def test_filter_by_orders_awaiting_confirmation_too_long(editor_client, orders):
    order_make(status=Order.Status.PENDING, session_id="cs_test_fresh", email="new@example.com")
    order_make(status=Order.Status.PENDING, created_at=timezone.now() - dt.timedelta(hours=3))

    response = editor_client.get(INDEX, {"stale_pending": "true"})

    # Fresh pending orders and ones that never reached the payment page are not stuck.
    assert listed(response) == [orders["pending"].reference]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("created_at", ["expired", "paid", "pending"]),
        ("-created_at", ["pending", "paid", "expired"]),
        ("amount_total", ["expired", "paid", "pending"]),
        ("-amount_total", ["pending", "paid", "expired"]),
    ],
)
def test_ordering_by_created_and_total(editor_client, orders, ordering, expected):
    response = editor_client.get(INDEX, {"ordering": ordering})

    assert listed(response) == [orders[name].reference for name in expected]


def test_listing_counts_items_without_a_query_per_order(editor_client, orders):
    def queries_for_listing() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert editor_client.get(INDEX).status_code == 200
        return len(queries)

    few = queries_for_listing()
    for _ in range(10):
        order_make(lines=(("Canvas Tote", 2450, 1), ("Stoneware Mug", 1800, 3)))
    many = queries_for_listing()

    assert many == few
    items = {
        order.reference: order.item_count
        for order in editor_client.get(INDEX).context["object_list"]
    }
    assert items[orders["paid"].reference] == 3
    assert items[orders["pending"].reference] == 4


# -- export ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "label", "colour"),
    [
        (Order.Status.PAID, "Paid", "#1d6b3a"),
        (Order.Status.PENDING, "Pending", "#7a4b00"),
        (Order.Status.FAILED, "Payment failed", "#a0262b"),
        (Order.Status.CANCELED, "Canceled", "#4a5566"),
        (Order.Status.EXPIRED, "Expired", "#4a5566"),
        (Order.Status.REFUNDED, "Refunded", "#0b4f94"),
    ],
)
def test_status_badges_name_the_status_in_its_own_colour(
    editor_client, shop, status, label, colour
):
    order = order_make(status=status)

    for url in (INDEX, reverse("orders:inspect", args=[order.pk])):
        page = BeautifulSoup(editor_client.get(url).content, "html.parser")
        badge = page.select_one(f"main .order-status--{status}")
        assert badge is not None, url
        assert badge.get_text(strip=True) == label
    stylesheet = finders.find("css/admin.css")
    rules = re.findall(r"([^{}]+)\{([^}]*)\}", open(stylesheet).read())  # noqa: SIM115
    styles = {
        selector.strip()
        for selectors, body in rules
        for selector in selectors.split(",")
        if f"color: {colour}" in body
    }
    assert f".order-status--{status}" in styles
    assert "css/admin.css" in editor_client.get(INDEX).content.decode()


def test_an_oversold_order_says_oversold_beside_its_status_in_the_list_and_inspect_page(
    editor_client, shop
):
    oversold = order_make(status=Order.Status.PAID)
    Order.objects.filter(pk=oversold.pk).update(oversold=True)
    order_make(status=Order.Status.PAID)

    page = BeautifulSoup(editor_client.get(INDEX).content, "html.parser")
    assert len(page.select("main .order-status--oversold")) == 1
    row = page.select_one("main .order-status--oversold").find_parent("tr")
    assert oversold.reference in row.get_text()
    inspect = reverse("orders:inspect", args=[oversold.pk])
    page = BeautifulSoup(editor_client.get(inspect).content, "html.parser")
    assert page.select_one("main .order-status--oversold").get_text(strip=True) == "Oversold"
    assert page.select_one("main .order-status--paid").get_text(strip=True) == "Paid"


def test_dates_read_the_same_in_the_listing_the_inspect_page_and_the_exports(editor_client, shop):
    created = dt.datetime(2026, 11, 28, 9, 5, 7, 123456, tzinfo=dt.UTC)
    order = order_make(status=Order.Status.PAID, created_at=created)
    written = "28 Nov 2026, 09:05"

    listing = BeautifulSoup(editor_client.get(INDEX).content, "html.parser")
    assert listing.select_one("main tbody tr td:nth-of-type(2)").get_text(strip=True) == written
    inspect = editor_client.get(reverse("orders:inspect", args=[order.pk])).content.decode()
    assert inspect.count(written) == 2  # created and paid
    (row,) = _csv_rows(editor_client.get(INDEX, {"export": "csv"}))
    assert (row["Created"], row["Paid"]) == (written, written)
    response = editor_client.get(INDEX, {"export": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    cell = sheet["B2"]
    # A real date-time cell (it sorts and sums), shown in the same format.
    assert cell.value.replace(second=0, microsecond=0) == dt.datetime(2026, 11, 28, 9, 5)
    assert cell.number_format == "d mmm yyyy, hh:mm"


def test_export_lists_each_orders_items_without_a_query_per_order(editor_client, shop):
    def export_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            _csv_rows(editor_client.get(INDEX, {"export": "csv"}))
        return len(queries)

    order_make(lines=(("Stoneware Mug", 1800, 2),))
    few = export_queries()
    for _ in range(5):
        order_make(lines=(("Canvas Tote", 2450, 1), ("Stoneware Mug", 1800, 3)))

    assert export_queries() == few
    items = sorted(row["Items"] for row in _csv_rows(editor_client.get(INDEX, {"export": "csv"})))
    assert items == ["1 × Canvas Tote, 3 × Stoneware Mug"] * 5 + ["2 × Stoneware Mug"]


def _csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_csv_export_lists_the_filtered_orders(editor_client, orders):
    response = editor_client.get(INDEX, {"status": "paid", "export": "csv"})

    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="orders.csv"' in response["Content-Disposition"]
    (row,) = _csv_rows(response)
    order = orders["paid"]
    assert row["Reference"] == order.reference
    assert row["Customer e-mail"] == "ada@example.com"
    assert row["Status"] == "Paid"
    assert row["Total"] == "$60.50"
    assert row["Total (minor units)"] == "6050"
    assert row["Currency"] == "usd"
    assert row["Items"] == "2 × Stoneware Mug, 1 × Canvas Tote"
    assert row["Units"] == "3"
    assert row["Checkout session"] == "cs_test_paidsession0001"
    assert row["Payment"] == "pi_test_paidintent0001"
    assert row["Created"] == format_datetime(order.created_at)
    # Tokens that prove ownership never leave the database.
    assert str(order.checkout_token) not in json.dumps(row)


def test_csv_export_follows_search_and_covers_every_page(editor_client, orders):
    for index in range(60):
        order_make(email=f"bulk{index}@example.com")

    rows = _csv_rows(editor_client.get(INDEX, {"q": "bulk", "export": "csv"}))

    assert len(rows) == 60


def test_csv_export_neutralises_formulas_in_shopper_supplied_values(editor_client, shop):
    order_make(email="=HYPERLINK(1)@example.com")

    (row,) = _csv_rows(editor_client.get(INDEX, {"export": "csv"}))

    assert row["Customer e-mail"] == "'=HYPERLINK(1)@example.com"


def test_xlsx_export_is_a_spreadsheet_of_the_orders(editor_client, orders):
    response = editor_client.get(INDEX, {"export": "xlsx", "ordering": "created_at"})

    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "orders.xlsx" in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    references = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert references == [orders[name].reference for name in ("expired", "paid", "pending")]


# -- dashboard -------------------------------------------------------------------------


def test_dashboard_panel_shows_sales_and_orders_stuck_awaiting_confirmation(editor_client, shop):
    now = timezone.now()
    order_make(status=Order.Status.PAID, lines=(("Mug", 1800, 2),), paid_at=now)
    order_make(status=Order.Status.PAID, lines=(("Tote", 2450, 1),), paid_at=now)
    order_make(
        status=Order.Status.PAID,
        lines=(("Notebook", 1275, 1),),
        created_at=now - dt.timedelta(days=3),
    )
    # Outside the week, refunded, or not paid: none of these is revenue.
    order_make(status=Order.Status.PAID, created_at=now - dt.timedelta(days=8))
    order_make(status=Order.Status.REFUNDED, paid_at=now)
    order_make(status=Order.Status.EXPIRED, session_id="cs_test_gone")
    # Two stuck, one still fresh, one that never reached the payment page.
    for minutes in (31, 240):
        stuck_since = now - dt.timedelta(minutes=minutes)
        order_make(session_id=f"cs_test_stuck{minutes}", created_at=stuck_since)
    order_make(session_id="cs_test_fresh", created_at=now - dt.timedelta(minutes=5))
    order_make(created_at=now - dt.timedelta(hours=2))

    response = editor_client.get(reverse("wagtailadmin_home"))

    assert response.status_code == 200
    page = BeautifulSoup(response.content, "html.parser")
    panel = page.select_one("#shop-orders-summary-section")
    today = [td.get_text(strip=True) for td in panel.select("[data-period=today] td")]
    week = [td.get_text(strip=True) for td in panel.select("[data-period=week] td")]
    assert today == ["2", "$60.50"]
    assert week == ["3", "$73.25"]
    stale = panel.select_one("[data-stale-pending] a")
    assert stale.get_text(" ", strip=True) == "2 unfinished checkouts"
    assert len(listed(editor_client.get(stale["href"]))) == 2


def test_dashboard_panel_reports_each_currency_separately(editor_client, shop):
    order_make(status=Order.Status.PAID, lines=(("Mug", 1800, 1),))
    order_make(status=Order.Status.PAID, lines=(("Becher", 1500, 1),), currency="eur")

    response = editor_client.get(reverse("wagtailadmin_home"))

    panel = BeautifulSoup(response.content, "html.parser").select_one(
        "#shop-orders-summary-section"
    )
    today = [td.get_text(strip=True) for td in panel.select("[data-period=today] td")]
    assert today == ["2", "€15.00 + $18.00"]


def test_permission_policy_names_only_viewers(editor, admin_client):
    policy = policy_registry.get_by_type(Order)

    assert set(policy.users_with_any_permission(["change", "delete"])) == set()
    assert {user.username for user in policy.users_with_permission("view")} == {"ed", "boss"}
