"""Automatic tax through the real stripe SDK against the fake Stripe server.

What Stripe is asked for when Settings → Store settings turns tax on (automatic_tax, each
price's and shipping rate's tax_behavior, the products' tax codes), and what a completed
session does: paid with its tax stored when total = subtotal + shipping + the tax added on
top (none on top when prices include it); unpaid and flagged when the total is anything else.
"""

import pytest

from home.models import StoreSettings
from shop.models import Order, OrderEvent, Product
from tests.shop.checkout.test_shipping_checkout import checkout, pay, session_creates
from tests.support.shopper import Browser, text_of
from tests.support.stripe_fake import FAKE_TAX_RATE_PERCENT, FakeStripe

pytestmark = pytest.mark.django_db


def tax_on(behavior: str) -> None:
    settings = StoreSettings.objects.get()
    settings.automatic_tax = True
    settings.tax_behavior = behavior
    settings.save()


def test_tax_off_sends_no_automatic_tax_and_no_tax_behavior(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    checkout(browser, {mug: 1})

    (sent,) = session_creates(fake)
    assert "automatic_tax" not in sent.params
    assert "tax_behavior" not in sent.params["line_items"][0]["price_data"]
    assert "tax_behavior" not in sent.params["shipping_options"][0]["shipping_rate_data"]


def test_tax_on_reaches_stripe_with_automatic_tax_behaviour_and_tax_code(
    fake: FakeStripe, browser: Browser, mug: Product, tote: Product
) -> None:
    tax_on("exclusive")
    mug.tax_code = "txcd_99999999"
    mug.save_revision().publish()

    checkout(browser, {mug: 1, tote: 1})

    (sent,) = session_creates(fake)
    assert sent.params["automatic_tax"] == {"enabled": "true"}
    mug_line, tote_line = sent.params["line_items"]
    assert mug_line["price_data"]["tax_behavior"] == "exclusive"
    assert mug_line["price_data"]["product_data"] == {
        "name": "Stoneware Mug",
        "tax_code": "txcd_99999999",
    }
    assert tote_line["price_data"]["tax_behavior"] == "exclusive"
    assert "tax_code" not in tote_line["price_data"]["product_data"]
    for option in sent.params["shipping_options"]:
        assert option["shipping_rate_data"]["tax_behavior"] == "exclusive"


def test_inclusive_prices_are_sent_as_inclusive(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    tax_on("inclusive")

    checkout(browser, {mug: 1})

    (sent,) = session_creates(fake)
    assert sent.params["line_items"][0]["price_data"]["tax_behavior"] == "inclusive"
    assert sent.params["shipping_options"][0]["shipping_rate_data"]["tax_behavior"] == "inclusive"


def test_exclusive_tax_is_paid_on_top_and_stored(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    assert FAKE_TAX_RATE_PERCENT == 10
    tax_on("exclusive")
    order, session_id = checkout(browser, {mug: 2})

    pay(browser, fake, session_id, shipping_option=1)  # Express, 14.95

    order.refresh_from_db()
    assert order.status == Order.Status.PAID and not order.amounts_mismatch
    # 10% of 36.00 and of 14.95 (1.495, rounded half up per item as Stripe does).
    assert (order.amount_subtotal, order.amount_shipping, order.amount_tax) == (3600, 1495, 510)
    assert order.amount_total == 3600 + 1495 + 510
    page = text_of(browser.get(f"/orders/{order.reference}/"))
    assert "Tax $5.10" in page and "Total $56.05" in page


def test_inclusive_tax_is_stored_and_the_total_is_the_prices(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    tax_on("inclusive")
    order, session_id = checkout(browser, {mug: 2})

    pay(browser, fake, session_id, shipping_option=1)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID and not order.amounts_mismatch
    # The tax inside 36.00 and 14.95 at 10%: 3.27 + 1.36.
    assert (order.amount_total, order.amount_tax) == (3600 + 1495, 463)
    page = text_of(browser.get(f"/orders/{order.reference}/"))
    assert "Tax included in the prices $4.63" in page and "Total $50.95" in page


@pytest.mark.parametrize(
    "behavior, tampered",
    [
        ("exclusive", {"amount_tax": 0}),  # the total has tax on top, none reported
        ("exclusive", {"amount_tax": 999}),  # more tax reported than was added
        ("inclusive", {"amount_tax": 10_000}),  # more tax than the whole total
    ],
)
def test_a_total_other_than_subtotal_shipping_and_tax_stays_unpaid_and_flagged(
    fake: FakeStripe, browser: Browser, mug: Product, behavior: str, tampered: dict
) -> None:
    tax_on(behavior)
    order, session_id = checkout(browser, {mug: 2})

    pay(browser, fake, session_id, shipping_option=1, **tampered)

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.amounts_mismatch
    assert order.amount_tax == 0
    assert OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.AMOUNTS_MISMATCH).exists()


def test_tax_charged_on_an_order_placed_without_tax_is_flagged(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    order, session_id = checkout(browser, {mug: 1})

    pay(browser, fake, session_id, amount_tax=50)

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.amounts_mismatch


def test_turning_tax_on_after_checkout_does_not_change_what_the_order_is_checked_against(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    order, session_id = checkout(browser, {mug: 1})
    tax_on("exclusive")

    pay(browser, fake, session_id)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.amount_tax == 0
