"""What the shopper sees of refunds: their order page lists each refund and the refunded
total, the status reads "Partially refunded" then "Refunded", and one e-mail per refund."""

import pytest
from django.core import mail
from django.test import TestCase

from shop.models import Order, Product, Refund
from shop.payments.local import LocalGateway
from shop.services.refunds import refund_create
from shop.services.webhooks import webhook_deliver
from tests.support.orders import local_pay
from tests.support.shopper import Browser, soup_of

pytestmark = pytest.mark.django_db


def paid_by(browser: Browser, quantities: dict[Product, int]) -> Order:
    """The shopper buys and pays on the local gateway's page; its signed event arrives."""
    response = browser.buy(browser.page_token(), quantities)
    assert response.status_code == 303
    order = Order.objects.get()
    gateway = LocalGateway()
    paid = local_pay(order.payment_session_id)
    with TestCase.captureOnCommitCallbacks(execute=True):
        webhook_deliver(**dict(zip(("body", "headers"), gateway.paid_delivery(paid), strict=True)))
    order.refresh_from_db()
    return order


def refund(order: Order, amount: int) -> None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        refund_create(order=order, amount=amount, reason=Refund.Reason.DUPLICATE, requested_by=None)


def test_order_page_lists_refunds_and_the_refunded_total(browser, mug, tote):
    order = paid_by(browser, {mug: 1, tote: 2})

    refund(order, 1000)
    page = soup_of(browser.get(f"/orders/{order.reference}/"))

    assert page.select_one("[data-order-status]").get_text(strip=True) == "Partially refunded"
    assert "$10.00" in page.select_one("[data-order-refunded]").get_text()
    rows = [r.get_text(" ", strip=True) for r in page.select("[data-order-refunds] tbody tr")]
    assert len(rows) == 1 and "$10.00" in rows[0] and "Refunded" in rows[0]
    listed = browser.shop_page().order(order.reference)
    assert listed is not None and "Partially refunded" in listed

    refund(order, order.amount_total - 1000)
    page = soup_of(browser.get(f"/orders/{order.reference}/"))

    assert page.select_one("[data-order-status]").get_text(strip=True) == "Refunded"
    assert len(page.select("[data-order-refunds] tbody tr")) == 2
    refund_mails = [m for m in mail.outbox if "refunded on your order" in m.subject]
    assert [m.subject.split()[0] for m in refund_mails] == [
        "$10.00",
        f"${(order.amount_total - 1000) / 100:.2f}",
    ]
    assert "(a duplicate payment)" in refund_mails[0].body
    assert order.timeline.filter(kind="email_sent", message__startswith="Refund").count() == 2
