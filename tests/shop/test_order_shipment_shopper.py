"""What the shopper sees once their order ships: the date, the carrier and a tracking link
on the order page and in My orders, and "Shipped" (then "Delivered") on its timeline."""

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth import get_user_model
from django.test import Client

from shop.models import Order, Source
from shop.services.shipments import order_mark_delivered, order_ship
from tests.support.orders import SHIP_TO, order_create

pytestmark = pytest.mark.django_db

TRACKING = "https://track.example.com/parcel/RM1"


@pytest.fixture
def shopper(shop):
    user = get_user_model().objects.create_user("ann@example.com", "ann@example.com", "pw-long-1")
    client = Client()
    client.force_login(user)
    return client, user


@pytest.fixture
def shipped(shopper, mug) -> Order:
    _, user = shopper
    order = order_create(user=user, lines=[(mug, 1)], email="ann@example.com", shipping=SHIP_TO)
    staff = get_user_model().objects.create_user("packer", "packer@example.com", "pw")
    return order_ship(
        order=order,
        carrier="Royal Mail",
        tracking_number="RM1",
        tracking_url=TRACKING,
        source=Source.admin_user(staff),
    )


def _page(client, path) -> BeautifulSoup:
    response = client.get(path)
    assert response.status_code == 200
    return BeautifulSoup(response.content, "html.parser")


def test_order_page_says_shipped_with_the_carrier_and_links_the_tracking_page(shopper, shipped):
    client, _ = shopper

    page = _page(client, f"/orders/{shipped.reference}/")

    note = page.select_one("[data-order-shipment]")
    text = " ".join(note.get_text(" ").split())
    assert f"Shipped {shipped.shipped_at:%-d %b %Y} with Royal Mail, tracking number RM1" in text
    link = note.select_one("a[data-tracking-link]")
    assert link["href"] == TRACKING
    assert {"noopener", "noreferrer"} <= set(link["rel"])
    labels = [dt.get_text(strip=True) for dt in page.select("[data-order-timeline] dt")]
    assert labels == ["Placed", "Paid", "Shipped"]


def test_my_orders_on_the_shop_page_shows_the_shipment(shopper, shipped):
    client, _ = shopper

    entry = _page(client, "/").find(id=f"order-{shipped.reference}").find_parent("article")

    assert entry.select_one("a[data-tracking-link]")["href"] == TRACKING
    assert "with Royal Mail" in entry.get_text(" ")


def test_delivered_shows_on_the_page_and_the_timeline(shopper, shipped):
    client, _ = shopper
    order_mark_delivered(order=shipped, source=Source.system())

    page = _page(client, f"/orders/{shipped.reference}/")

    assert page.select_one("[data-order-shipment]").get_text(" ").strip().startswith("Delivered")
    labels = [dt.get_text(strip=True) for dt in page.select("[data-order-timeline] dt")]
    assert labels == ["Placed", "Paid", "Shipped", "Delivered"]


def test_a_tracking_url_that_is_not_http_is_never_linked(shopper, shipped):
    # Written around the service (an import, a database edit): the page still refuses it.
    Order.objects.filter(pk=shipped.pk).update(tracking_url="javascript:alert(1)")
    client, _ = shopper

    page = _page(client, f"/orders/{shipped.reference}/")

    assert page.select_one("[data-order-shipment]") is not None
    assert page.select_one("a[data-tracking-link]") is None
    assert "javascript:" not in page.decode()


def test_an_unshipped_order_says_nothing_about_shipping(shopper, mug):
    client, user = shopper
    order = order_create(user=user, lines=[(mug, 1)], shipping=SHIP_TO)

    page = _page(client, f"/orders/{order.reference}/")

    assert page.select_one("[data-order-shipment]") is None
