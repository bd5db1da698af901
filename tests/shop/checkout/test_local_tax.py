"""The local test gateway's automatic tax: one flat rate from Settings → Store settings,
shown on its pay page, charged as Stripe charges it (on top, or inside the prices) and
stored on the paid order."""

from decimal import Decimal

import pytest
from django.core import mail

from home.models import StoreSettings
from shop.models import LocalCheckoutSession, Order, Product
from tests.shop.checkout.test_local_shipping import start_checkout
from tests.support.shopper import Browser, location, pay_form, soup_of, text_of

pytestmark = pytest.mark.django_db


def tax_on(behavior: str, rate: str = "20.00") -> None:
    settings = StoreSettings.objects.get()
    settings.automatic_tax = True
    settings.tax_behavior = behavior
    settings.test_tax_rate = Decimal(rate)
    settings.save()


def pay(browser: Browser, payment_page: str, order: Order) -> Order:
    browser.visit(location(browser.post(payment_page, pay_form(country="US", rate="0"))))
    order.refresh_from_db()
    return order


def test_shop_page_says_how_tax_is_charged_only_when_tax_is_on(
    browser: Browser, mug: Product
) -> None:
    assert soup_of(browser.get("/")).select_one("[data-tax-note]") is None

    tax_on("exclusive")
    assert "Tax is added at checkout." in text_of(browser.get("/"))

    tax_on("inclusive")
    assert "Prices include tax." in text_of(browser.get("/"))


def test_exclusive_flat_tax_is_shown_added_to_the_total_and_stored(
    browser: Browser, mug: Product, django_capture_on_commit_callbacks
) -> None:
    tax_on("exclusive")
    order, payment_page = start_checkout(browser, {mug: 1})

    page = soup_of(browser.get(payment_page))
    assert page.select_one("[data-tax]").get_text(strip=True) == "$3.60"  # 20% of 18.00
    assert "Tax (20%) on the items, added when you pay" in page.get_text(" ", strip=True)

    with django_capture_on_commit_callbacks(execute=True):
        order = pay(browser, payment_page, order)

    # 20% of 18.00 + 4.95 shipping = 4.59, added on top.
    assert order.status == Order.Status.PAID and not order.amounts_mismatch
    assert (order.amount_subtotal, order.amount_shipping, order.amount_tax) == (1800, 495, 459)
    assert order.amount_total == 1800 + 495 + 459
    session = LocalCheckoutSession.objects.get(pk=order.payment_session_id)
    assert session.amount_total == order.amount_total
    assert "Tax $4.59" in text_of(browser.get(f"/orders/{order.reference}/"))
    assert "Tax: $4.59" in text_of(browser.get("/orders/"))
    (confirmation,) = mail.outbox
    assert "Tax: $4.59" in confirmation.body and "Total: $27.54" in confirmation.body


def test_inclusive_flat_tax_is_the_part_of_the_prices_that_is_tax(
    browser: Browser, mug: Product
) -> None:
    tax_on("inclusive")
    order, payment_page = start_checkout(browser, {mug: 1})

    page = soup_of(browser.get(payment_page))
    assert page.select_one("[data-tax]").get_text(strip=True) == "includes $3.00 tax"

    order = pay(browser, payment_page, order)

    # The tax inside 18.00 + 4.95 at 20%: 22.95 × 20 / 120 = 3.825, rounded half up.
    assert order.status == Order.Status.PAID and not order.amounts_mismatch
    assert (order.amount_total, order.amount_tax) == (2295, 383)
    assert "Tax included in the prices $3.83" in text_of(browser.get(f"/orders/{order.reference}/"))


def test_without_tax_the_pay_page_shows_none_and_the_order_has_none(
    browser: Browser, mug: Product
) -> None:
    order, payment_page = start_checkout(browser, {mug: 1})

    assert soup_of(browser.get(payment_page)).select_one("[data-tax]") is None
    order = pay(browser, payment_page, order)

    assert order.status == Order.Status.PAID
    assert (order.amount_total, order.amount_tax) == (2295, 0)
    assert "Tax" not in text_of(browser.get(f"/orders/{order.reference}/"))
