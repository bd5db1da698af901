"""The shopper's printable receipt: what it says, who may see it, and the links to it."""

from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from home.models import StoreSettings
from shop import tasks
from shop.models import Order, PromotionCode
from shop.order_links import order_signed_url
from tests.support.orders import SHIP_TO, order_make
from tests.support.promotions import promotion
from tests.support.shopper import guest_client

pytestmark = pytest.mark.django_db

GUEST = "guest-token-receipt"


def _guest(token: str = GUEST) -> Client:
    return guest_client(token)


def _paid_order(*, status: str = Order.Status.PAID, guest_token: str = GUEST, **changes) -> Order:
    """A paid order with two lines, a promotion code, shipping and tax: 36.00 + 12.50 − 4.85
    + 5.00 shipping + 9.73 tax = 58.38."""
    code = PromotionCode.objects.filter(code="SAVE10").first() or promotion("SAVE10")
    order = order_make(
        status=status,
        lines=(("Stoneware Mug", 1800, 2), ("Canvas Tote", 1250, 1)),
        email="ada@example.com",
        payment_id="pi_receipt_123",
        shipping=SHIP_TO,
        amount_shipping=500,
    )
    Order.objects.filter(pk=order.pk).update(
        guest_token=guest_token,
        promotion=code,
        promotion_code=code.code,
        amount_discount=485,
        amount_tax=973,
        tax_behavior="exclusive",
        amount_total=4850 - 485 + 500 + 973,
        **changes,
    )
    order.refresh_from_db()
    return order


def _receipt(order: Order) -> str:
    return f"/orders/{order.reference}/receipt/"


def _store(seeded_shop, **fields) -> StoreSettings:
    store = StoreSettings.for_site(seeded_shop.get_site())
    for name, value in fields.items():
        setattr(store, name, value)
    store.save()
    return store


def _rows(page: BeautifulSoup) -> dict[str, str]:
    return {
        row.th.get_text(" ", strip=True): row.td.get_text(strip=True)
        for row in page.select(".receipt__lines tfoot tr")
    }


def test_receipt_shows_store_order_lines_and_every_part_of_the_total(seeded_shop):
    _store(
        seeded_shop,
        store_name="Clay & Cloth",
        store_address="1 Pottery Lane\nBristol BS1 4DJ\nUnited Kingdom",
        tax_number="GB123456789",
    )
    order = _paid_order()

    response = _guest().get(_receipt(order))

    assert response.status_code == 200
    page = BeautifulSoup(response.content, "html.parser")
    receipt = page.select_one("[data-receipt]")
    assert receipt.h1.get_text(strip=True) == "Receipt"
    assert receipt.select_one("[data-receipt-store]").get_text() == "Clay & Cloth"
    address = receipt.select_one("[data-receipt-address]")
    assert [line.strip() for line in address.stripped_strings] == [
        "1 Pottery Lane",
        "Bristol BS1 4DJ",
        "United Kingdom",
    ]
    assert "GB123456789" in receipt.select_one("[data-receipt-tax-number]").get_text()
    assert receipt.select_one("[data-receipt-reference]").get_text() == order.reference
    paid_at = receipt.select_one("[data-receipt-paid-at] time")["datetime"]
    assert paid_at.startswith(order.paid_at.date().isoformat())
    assert receipt.select_one("[data-receipt-email]").get_text() == "ada@example.com"
    assert receipt.select_one("[data-receipt-payment-id]").get_text() == "pi_receipt_123"
    lines = [
        [cell.get_text(strip=True) for cell in row.find_all("td")]
        for row in receipt.select("[data-receipt-line]")
    ]
    assert lines == [
        ["Stoneware Mug", "2", "$18.00", "$36.00"],
        ["Canvas Tote", "1", "$12.50", "$12.50"],
    ]
    assert _rows(page) == {
        "Subtotal": "$48.50",
        "Promotion code SAVE10": "−$4.85",
        "Shipping (Standard)": "$5.00",
        "Tax": "$9.73",
        "Total paid": "$58.38",
    }
    # Printing: our own stylesheet and script file (no inline code under the CSP).
    assert page.select_one('link[href$="css/receipt.css"]') is not None
    assert page.select_one('script[src$="js/receipt.js"]') is not None
    assert page.select_one("[data-print]").get_text(strip=True) == "Print"
    assert not page.select("script:not([src])")


def test_receipt_of_a_partly_refunded_order_shows_the_refund(seeded_shop):
    order = _paid_order(status=Order.Status.PARTIALLY_REFUNDED, amount_refunded=1800)

    page = BeautifulSoup(_guest().get(_receipt(order)).content, "html.parser")

    assert _rows(page)["Refunded"] == "−$18.00"


def test_receipt_without_settings_shows_no_empty_address_or_tax_number(seeded_shop):
    order = _paid_order()

    page = BeautifulSoup(_guest().get(_receipt(order)).content, "html.parser")

    assert page.select_one("[data-receipt-address]") is None
    assert page.select_one("[data-receipt-tax-number]") is None


@pytest.mark.parametrize(
    "status",
    [Order.Status.PENDING, Order.Status.FAILED, Order.Status.CANCELED, Order.Status.EXPIRED],
)
def test_an_order_not_paid_has_no_receipt(seeded_shop, status):
    order = _paid_order(status=status)

    assert _guest().get(_receipt(order)).status_code == 404
    detail = BeautifulSoup(_guest().get(f"/orders/{order.reference}/").content, "html.parser")
    assert detail.select_one("[data-receipt-link]") is None


@pytest.mark.parametrize("status", Order.PAID_STATUSES)
def test_every_paid_order_links_its_receipt_from_its_page_and_my_orders(seeded_shop, status):
    order = _paid_order(status=status)
    client = _guest()

    for url in (f"/orders/{order.reference}/", "/orders/"):
        page = BeautifulSoup(client.get(url).content, "html.parser")
        assert page.select_one("[data-receipt-link]")["href"] == _receipt(order), url


def test_another_shopper_gets_a_404_and_a_logged_out_owner_is_sent_to_log_in(
    seeded_shop, django_user_model
):
    guests = _paid_order()
    assert _guest("someone-else").get(_receipt(guests)).status_code == 404
    assert Client().get(_receipt(guests)).status_code == 404

    user = django_user_model.objects.create_user("ann@example.com", "ann@example.com", "pw-1-x")
    members = _paid_order(guest_token="", user=user)
    stranger = django_user_model.objects.create_user("bob@example.com", "bob@example.com", "pw")
    signed_in_stranger = Client()
    signed_in_stranger.force_login(stranger)
    assert signed_in_stranger.get(_receipt(members)).status_code == 404
    logged_out = Client().get(_receipt(members))
    assert logged_out.status_code == 302
    assert logged_out["Location"].startswith("/accounts/login/")
    owner = Client()
    owner.force_login(user)
    assert owner.get(_receipt(members)).status_code == 200


def test_signed_link_opens_the_receipt_and_only_that_orders(seeded_shop):
    mine, theirs = _paid_order(), _paid_order(guest_token="other-guest")
    link = urlsplit(order_signed_url(mine, route="order_receipt"))
    assert link.path == _receipt(mine)
    other_device = Client()

    response = other_device.get(f"{link.path}?{link.query}")

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    page = BeautifulSoup(response.content, "html.parser")
    assert page.select_one("[data-receipt-reference]").get_text() == mine.reference
    back = page.select_one(".receipt__actions a")["href"]
    assert other_device.get(back).status_code == 200  # the key goes back to the order page
    assert other_device.get(f"{_receipt(theirs)}?{link.query}").status_code == 404
    assert other_device.get(f"{link.path}?{link.query[:-1]}x").status_code == 404


def test_order_page_opened_by_signed_link_links_a_receipt_that_opens(seeded_shop):
    order = _paid_order()
    link = urlsplit(order_signed_url(order))
    other_device = Client()

    page = BeautifulSoup(other_device.get(f"{link.path}?{link.query}").content, "html.parser")
    receipt = page.select_one("[data-receipt-link]")["href"]

    assert receipt.startswith(_receipt(order) + "?key=")
    assert other_device.get(receipt).status_code == 200


def test_confirmation_email_links_the_receipt_by_its_signed_link(seeded_shop):
    order = _paid_order()

    assert tasks.order_confirmation_send.call(order.pk) is True

    (message,) = mail.outbox
    receipt_url = order_signed_url(order, route="order_receipt")
    assert f"Your receipt: {receipt_url}" in message.body
    html = BeautifulSoup(message.alternatives[0][0], "html.parser")
    assert html.find("a", string="Your receipt")["href"] == receipt_url
    link = urlsplit(receipt_url)
    assert Client().get(f"{link.path}?{link.query}").status_code == 200


def test_receipt_query_count(seeded_shop):
    order = _paid_order()
    client = _guest()
    client.get(_receipt(order))  # warm per-process caches (site root paths, content types)

    with CaptureQueriesContext(connection) as captured:
        assert client.get(_receipt(order)).status_code == 200

    # The session, the order, its lines: the site, the page and the store settings are
    # kept by the process (shop/page_serving.py).
    assert len(captured) == 3, [q["sql"] for q in captured]
