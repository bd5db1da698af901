"""Shipping in the admin: the Fulfilment group marks orders shipped (one or several), prints
packing slips, filters and exports; editors see no button and get 403 on the URLs."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
from bs4 import BeautifulSoup
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.staticfiles import finders
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Site

from home.models import StoreSettings
from shop.models import Order, OrderEvent
from shop.services.staff import MANAGERS_GROUP, staff_groups_ensure
from tests.support.orders import SHIP_TO, order_make

pytestmark = pytest.mark.django_db

TRACKING = "https://track.example.com/parcel/RM1"


def _page(response) -> BeautifulSoup:
    return BeautifulSoup(response.content, "html.parser")


def _inspect(client, order) -> BeautifulSoup:
    response = client.get(reverse("orders:inspect", args=[order.pk]))
    assert response.status_code == 200
    return _page(response)


def _ship_form(**overrides) -> dict:
    return {
        "carrier": "Royal Mail",
        "tracking_number": "RM1",
        "tracking_url": TRACKING,
        **overrides,
    }


# -- who may ship --------------------------------------------------------------------


def test_fulfilment_staff_see_mark_as_shipped_on_a_paid_order(fulfilment_client, paid_to_ship):
    page = _inspect(fulfilment_client, paid_to_ship)

    button = page.select_one("[data-mark-shipped]")
    assert button is not None and button.get_text(strip=True) == "Mark as shipped"
    assert button["href"] == reverse("orders:ship", args=[paid_to_ship.pk])
    assert "Not shipped" in page.select_one("[data-order-shipment]").get_text()
    assert "12 Marylebone Road" in page.select_one("[data-ship-to]").get_text()


def test_the_order_lines_add_up_to_the_total_with_the_shipping_row(fulfilment_client, paid_to_ship):
    page = _inspect(fulfilment_client, paid_to_ship)

    rows = [
        [cell.get_text(strip=True) for cell in row.find_all(["th", "td"])]
        for row in page.select("[data-order-lines] tfoot tr")
    ]
    # $36.00 + $24.50 of lines, then what the shopper paid on top of them.
    assert rows == [
        ["Subtotal", "$60.50"],
        ["Shipping (Standard)", "$4.95"],
        ["Total (USD)", "$65.45"],
    ]


def test_no_mark_as_shipped_on_an_unpaid_order(fulfilment_client, shop):
    pending = order_make(status=Order.Status.PENDING)

    assert _inspect(fulfilment_client, pending).select_one("[data-mark-shipped]") is None


def test_editors_see_no_shipping_buttons_and_get_403_on_every_shipping_url(
    editor_client, paid_to_ship
):
    page = _inspect(editor_client, paid_to_ship)
    assert page.select_one("[data-mark-shipped]") is None
    assert page.select_one("[data-mark-delivered]") is None
    assert "Ship orders" not in editor_client.get(reverse("orders:index")).content.decode()

    for name, method in (("ship", "get"), ("ship", "post"), ("delivered", "post")):
        url = reverse(f"orders:{name}", args=[paid_to_ship.pk])
        response = getattr(editor_client, method)(url, _ship_form())
        assert response.status_code == 403, (name, method)
        assert "You cannot ship orders" in response.content.decode()
    for method in ("get", "post"):
        response = getattr(editor_client, method)(
            reverse("orders:ship_orders"), {"order": paid_to_ship.pk}
        )
        assert response.status_code == 403

    paid_to_ship.refresh_from_db()
    assert paid_to_ship.fulfilment_status == Order.FulfilmentStatus.UNFULFILLED
    assert mail.outbox == []


def test_managers_may_not_ship_either(client, paid_to_ship):
    staff_groups_ensure()
    manager = get_user_model().objects.create_user("mgr", "mgr@example.com", "pw")
    manager.groups.add(Group.objects.get(name=MANAGERS_GROUP))
    client.force_login(manager)

    assert _inspect(client, paid_to_ship).select_one("[data-mark-shipped]") is None
    response = client.post(reverse("orders:ship", args=[paid_to_ship.pk]), _ship_form())
    assert response.status_code == 403
    paid_to_ship.refresh_from_db()
    assert paid_to_ship.fulfilment_status == Order.FulfilmentStatus.UNFULFILLED


def test_logged_out_visitors_are_sent_to_log_in(client, paid_to_ship):
    response = client.get(reverse("orders:ship", args=[paid_to_ship.pk]))

    assert response.status_code == 302
    assert reverse("wagtailadmin_login") in response["Location"]


# -- Mark as shipped, Mark as delivered ------------------------------------------------


def test_mark_as_shipped_goes_back_to_the_order_with_a_message_and_one_email(
    fulfilment_client, paid_to_ship, django_capture_on_commit_callbacks
):
    form_page = fulfilment_client.get(reverse("orders:ship", args=[paid_to_ship.pk]))
    assert form_page.status_code == 200
    assert {"carrier", "tracking_number", "tracking_url"} <= {
        field["name"] for field in _page(form_page).select("form#w-editor-form input[name]")
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = fulfilment_client.post(
            reverse("orders:ship", args=[paid_to_ship.pk]), _ship_form(), follow=True
        )

    assert response.redirect_chain == [(reverse("orders:inspect", args=[paid_to_ship.pk]), 302)]
    page = _page(response)
    assert f"Order {paid_to_ship.reference} marked as shipped with Royal Mail" in page.get_text()
    shipment = page.select_one("[data-order-shipment]")
    assert "Shipped" in shipment.select_one("[data-fulfilment-status]").get_text()
    assert shipment.select_one("[data-tracking] a")["href"] == TRACKING
    assert page.select_one("[data-mark-shipped]") is None
    assert page.select_one("[data-mark-delivered]") is not None
    entry = page.select_one('[data-order-timeline] [data-timeline-kind="shipped"]')
    assert "Admin user fred" in entry.get_text(" ")
    (message,) = mail.outbox
    assert TRACKING in message.body


def test_mark_as_shipped_submitted_twice_ships_once_and_says_so(
    fulfilment_client, paid_to_ship, django_capture_on_commit_callbacks
):
    url = reverse("orders:ship", args=[paid_to_ship.pk])
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment_client.post(url, _ship_form())
        second = fulfilment_client.post(url, _ship_form(carrier="DHL"), follow=True)

    assert "was already shipped" in _page(second).get_text()
    assert paid_to_ship.timeline.filter(kind=OrderEvent.Kind.SHIPPED).count() == 1
    assert len(mail.outbox) == 1
    paid_to_ship.refresh_from_db()
    assert paid_to_ship.carrier == "Royal Mail"


@pytest.mark.parametrize(
    ("form", "field", "says"),
    [
        ({"carrier": ""}, "carrier", "required"),
        ({"tracking_url": "javascript:alert(1)"}, "tracking_url", "http:// or https://"),
        ({"tracking_url": "ftp://example.com/x"}, "tracking_url", "http:// or https://"),
        ({"tracking_number": "RM\x001"}, "tracking_number", "Null characters"),
    ],
)
def test_bad_shipment_details_are_shown_on_the_form_with_400_and_change_nothing(
    fulfilment_client, paid_to_ship, form, field, says
):
    response = fulfilment_client.post(
        reverse("orders:ship", args=[paid_to_ship.pk]), _ship_form(**form)
    )

    assert response.status_code == 400
    assert says in " ".join(response.context["form"].errors[field])
    paid_to_ship.refresh_from_db()
    assert paid_to_ship.fulfilment_status == Order.FulfilmentStatus.UNFULFILLED
    assert not paid_to_ship.timeline.filter(kind=OrderEvent.Kind.SHIPPED).exists()


def test_the_ship_form_of_an_unpaid_order_goes_back_to_it_saying_why(fulfilment_client, shop):
    refunded = order_make(status=Order.Status.REFUNDED)

    response = fulfilment_client.get(reverse("orders:ship", args=[refunded.pk]), follow=True)

    assert "only paid orders can be shipped" in _page(response).get_text()


def test_mark_as_delivered_once_shipped(fulfilment_client, paid_to_ship):
    fulfilment_client.post(reverse("orders:ship", args=[paid_to_ship.pk]), _ship_form())

    response = fulfilment_client.post(
        reverse("orders:delivered", args=[paid_to_ship.pk]), follow=True
    )

    page = _page(response)
    assert f"Order {paid_to_ship.reference} marked as delivered." in page.get_text()
    assert "Delivered" in page.select_one("[data-fulfilment-status]").get_text()
    assert page.select_one("[data-mark-delivered]") is None
    assert paid_to_ship.timeline.get(kind=OrderEvent.Kind.DELIVERED).user.username == "fred"


@pytest.mark.parametrize("pk", [999999, 2**63, 10**30])
def test_unknown_order_is_404(fulfilment_client, shop, pk):
    for name in ("ship", "packing_slip"):
        assert fulfilment_client.get(reverse(f"orders:{name}", args=[pk])).status_code == 404
    assert fulfilment_client.post(reverse("orders:delivered", args=[pk])).status_code == 404


# -- Ship orders (several at once) -----------------------------------------------------


def test_ship_orders_ships_the_ticked_orders_each_with_its_entry_and_email_and_lists_refusals(
    fulfilment_client, shop, django_capture_on_commit_callbacks
):
    now = timezone.now()
    old = order_make(
        status=Order.Status.PAID,
        email="a@example.com",
        shipping=SHIP_TO,
        paid_at=now - dt.timedelta(days=2),
    )
    new = order_make(status=Order.Status.PAID, email="b@example.com", paid_at=now)
    late = order_make(status=Order.Status.PAID, email="c@example.com", paid_at=now)
    listing = _page(fulfilment_client.get(reverse("orders:ship_orders")))
    rows = [row["data-waiting-order"] for row in listing.select("[data-waiting-order]")]
    assert rows[0] == old.reference and set(rows) == {old.reference, new.reference, late.reference}
    # Someone else ships one while this operator's page is open.
    Order.objects.filter(pk=late.pk).update(status=Order.Status.REFUNDED)

    with django_capture_on_commit_callbacks(execute=True):
        response = fulfilment_client.post(
            reverse("orders:ship_orders"),
            {
                "carrier": "Royal Mail",
                "order": [old.pk, new.pk, late.pk],
                f"tracking_{old.pk}": "RM-OLD",
                f"tracking_{new.pk}": "",
            },
        )

    assert response.status_code == 200
    page = _page(response)
    assert "2 orders marked as shipped." in page.get_text()
    refused = page.select_one("[data-refused]").get_text(" ", strip=True)
    assert late.reference in refused and "refunded: only paid orders can be shipped" in refused
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.carrier, old.tracking_number) == ("Royal Mail", "RM-OLD")
    assert (new.carrier, new.tracking_number) == ("Royal Mail", "")
    assert OrderEvent.objects.filter(kind=OrderEvent.Kind.SHIPPED).count() == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.com", "b@example.com"]
    assert [row["data-waiting-order"] for row in page.select("[data-waiting-order]")] == []


@pytest.mark.parametrize(
    "form",
    [
        {"carrier": "Royal Mail"},
        {"carrier": "Royal Mail", "order": "abc"},
        {"carrier": "Royal Mail", "order": str(2**63)},
        {"carrier": "Royal Mail", "order": "9" * 5000},
        {"carrier": "", "order": "PAID"},
        {"carrier": "Royal Mail", "order": "PAID", "tracking_PAID": "x" * 101},
    ],
)
def test_ship_orders_refuses_bad_input_with_400_and_ships_nothing(
    fulfilment_client, paid_to_ship, form
):
    form = {
        key.replace("PAID", str(paid_to_ship.pk)): str(paid_to_ship.pk)
        if value == "PAID"
        else value
        for key, value in form.items()
    }

    response = fulfilment_client.post(reverse("orders:ship_orders"), form)

    assert response.status_code == 400
    assert _page(response).select_one("[data-ship-error]").get_text(strip=True)
    paid_to_ship.refresh_from_db()
    assert paid_to_ship.fulfilment_status == Order.FulfilmentStatus.UNFULFILLED


def test_the_orders_list_offers_ship_orders_to_fulfilment_staff(fulfilment_client, paid_to_ship):
    html = fulfilment_client.get(reverse("orders:index")).content.decode()

    assert reverse("orders:ship_orders") in html


# -- packing slip ----------------------------------------------------------------------


def test_packing_slip_shows_store_reference_date_address_lines_and_rate(
    fulfilment_client, paid_to_ship
):
    store = StoreSettings.for_site(Site.objects.get(is_default_site=True))
    store.store_name = "Bramble & Wren"
    store.save()
    inspect = _inspect(fulfilment_client, paid_to_ship)
    url = inspect.select_one("[data-packing-slip]")["href"]

    response = fulfilment_client.get(url)

    assert response.status_code == 200
    page = _page(response)
    assert page.select_one("[data-store-name]").get_text(strip=True) == "Bramble & Wren"
    assert page.select_one("[data-reference]").get_text(strip=True) == paid_to_ship.reference
    address = page.select_one("[data-ship-to]").get_text("\n", strip=True).splitlines()
    assert address == [
        "Ada Lovelace",
        "12 Marylebone Road",
        "Flat 3",
        "NW1 5LR London",
        "Greater London",
        "United Kingdom",  # the country's name, as the shopper's page writes it
        "+44 20 7946 0000",
    ]
    lines = [
        [cell.get_text(strip=True) for cell in row.find_all("td")][:2]
        for row in page.select("[data-lines] tbody tr")
    ]
    assert lines == [["Stoneware Mug", "2"], ["Canvas Tote", "1"]]
    assert "Standard (3–5 business days)" in page.select_one("[data-rate]").get_text()
    assert "$" not in page.get_text()  # no prices in the parcel
    stylesheet = page.select_one('link[rel="stylesheet"]')["href"]
    assert stylesheet.startswith("/static/")
    css = finders.find(stylesheet.removeprefix("/static/"))
    assert "@media print" in open(css, encoding="utf-8").read()  # noqa: SIM115


def test_packing_slip_writes_a_one_day_estimate_as_the_shopper_reads_it(fulfilment_client):
    order = order_make(
        status=Order.Status.PAID,
        shipping={
            **SHIP_TO,
            "shipping_rate_name": "Next day",
            "shipping_min_days": 1,
            "shipping_max_days": 1,
        },
    )

    page = _page(fulfilment_client.get(reverse("orders:packing_slip", args=[order.pk])))

    assert page.select_one("[data-rate]").get_text(strip=True) == "Next day (1 business day)"


def test_editors_may_print_a_packing_slip_but_not_others(editor_client, paid_to_ship, client, shop):
    assert (
        editor_client.get(reverse("orders:packing_slip", args=[paid_to_ship.pk])).status_code == 200
    )
    nobody = get_user_model().objects.create_user("nobody", "n@example.com", "pw")
    nobody.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(nobody)
    assert client.get(reverse("orders:packing_slip", args=[paid_to_ship.pk])).status_code == 403


# -- list, filter, export, dashboard ---------------------------------------------------


def _listed(response) -> list[str]:
    assert response.status_code == 200
    return [order.reference for order in response.context["object_list"]]


def test_orders_list_filters_by_fulfilment_status_and_shows_it(
    fulfilment_client, paid_to_ship, shop
):
    shipped = order_make(status=Order.Status.PAID)
    Order.objects.filter(pk=shipped.pk).update(
        fulfilment_status=Order.FulfilmentStatus.SHIPPED, carrier="DHL", shipped_at=timezone.now()
    )
    index = reverse("orders:index")

    assert _listed(fulfilment_client.get(index, {"fulfilment_status": "shipped"})) == [
        shipped.reference
    ]
    assert _listed(fulfilment_client.get(index, {"fulfilment_status": "unfulfilled"})) == [
        paid_to_ship.reference
    ]
    page = _page(fulfilment_client.get(index))
    badges = [badge.get_text(strip=True) for badge in page.select("td [data-fulfilment-status]")]
    assert sorted(badges) == ["Not shipped", "Shipped"]


def _export(client, fmt: str):
    response = client.get(reverse("orders:index"), {"export": fmt})
    assert response.status_code == 200
    return response


def test_csv_export_has_address_rate_amounts_and_fulfilment_columns(fulfilment_client, shop):
    order = order_make(
        status=Order.Status.PAID,
        shipping={**SHIP_TO, "shipping_name": '=HYPERLINK("http://evil")'},
        amount_shipping=495,
    )
    Order.objects.filter(pk=order.pk).update(
        fulfilment_status=Order.FulfilmentStatus.SHIPPED,
        carrier="Royal Mail",
        tracking_number="+RM1",
        tracking_url=TRACKING,
        shipped_at=timezone.now(),
    )

    body = b"".join(_export(fulfilment_client, "csv").streaming_content).decode("utf-8-sig")

    (row,) = csv.DictReader(io.StringIO(body))
    assert row["Subtotal (minor units)"] == "1800"
    assert row["Shipping (minor units)"] == "495"
    assert row["Shipping rate"] == "Standard"
    assert row["Ship to"] == '\'=HYPERLINK("http://evil")'
    assert (row["Address line 1"], row["City"], row["Postal code"], row["Country"]) == (
        "12 Marylebone Road",
        "London",
        "NW1 5LR",
        "GB",
    )
    assert row["Fulfilment"] == "Shipped"
    assert (row["Carrier"], row["Tracking number"], row["Tracking URL"]) == (
        "Royal Mail",
        "'+RM1",
        TRACKING,
    )
    assert row["Shipped"]


def test_xlsx_export_has_the_fulfilment_columns(fulfilment_client, paid_to_ship):
    response = _export(fulfilment_client, "xlsx")

    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    headings = [cell.value for cell in sheet[1]]
    values = dict(zip(headings, [cell.value for cell in sheet[2]], strict=True))
    assert values["Fulfilment"] == "Not shipped"
    assert values["Ship to"] == "Ada Lovelace"
    assert values["Shipping (minor units)"] == 495


def test_dashboard_counts_paid_orders_waiting_to_ship_oldest_first(fulfilment_client, shop):
    now = timezone.now()
    newest = order_make(status=Order.Status.PAID, paid_at=now - dt.timedelta(hours=1))
    oldest = order_make(status=Order.Status.PAID, paid_at=now - dt.timedelta(days=3))
    middle = order_make(status=Order.Status.PAID, paid_at=now - dt.timedelta(days=1))
    order_make(status=Order.Status.PENDING)
    shipped = order_make(status=Order.Status.PAID, paid_at=now - dt.timedelta(days=9))
    Order.objects.filter(pk=shipped.pk).update(fulfilment_status=Order.FulfilmentStatus.SHIPPED)

    response = fulfilment_client.get(reverse("wagtailadmin_home"))

    panel = _page(response).select_one("#shop-shipping-queue-section")
    assert panel.select_one("[data-waiting-to-ship]")["data-waiting-to-ship"] == "3"
    rows = panel.select("[data-waiting-order]")
    assert [row["data-waiting-order"] for row in rows] == [
        oldest.reference,
        middle.reference,
        newest.reference,
    ]
    assert rows[0].a["href"] == reverse("orders:inspect", args=[oldest.pk])
    assert panel.find("a", string="Ship orders")["href"] == reverse("orders:ship_orders")


def test_editors_see_the_waiting_count_without_the_ship_link(editor_client, paid_to_ship):
    panel = _page(editor_client.get(reverse("wagtailadmin_home"))).select_one(
        "#shop-shipping-queue-section"
    )

    assert panel.select_one("[data-waiting-to-ship]")["data-waiting-to-ship"] == "1"
    assert panel.find("a", string="Ship orders") is None
