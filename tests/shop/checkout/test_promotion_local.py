"""Promotion codes on the shop page (Apply, no JavaScript needed) and through the local
gateway's own payment page, which takes the same discount off as Stripe would."""

from urllib.parse import urlsplit

import pytest

from shop.models import LocalCheckoutSession, Order, Product
from tests.support.promotions import promotion
from tests.support.shopper import Browser, buy_form, location, pay_form, soup_of, text_of

pytestmark = pytest.mark.django_db


def apply(browser: Browser, quantities: dict[Product, int], code: str):
    """Press Apply: the Buy form posted to be shown again with the code."""
    return browser.post_form(
        "/checkout/promotion/", buy_form(browser.page_token(), quantities, promotion_code=code)
    )


def test_apply_shows_the_discount_and_the_new_total_keeping_the_quantities(
    browser: Browser, mug: Product, tote: Product
) -> None:
    promotion("SAVE10", percent_off=10)

    response = apply(browser, {mug: 1, tote: 1}, "save10")

    assert response.status_code == 200
    page = soup_of(response)
    assert page.select_one(f"#qty-{mug.pk}")["value"] == "1"
    assert page.select_one(f"#qty-{tote.pk}")["value"] == "1"
    assert page.select_one("#promotion-code")["value"] == "SAVE10"
    assert page.select_one("#cart-discount").get_text() == "−$4.25"
    assert page.select_one("#cart-total").get_text() == "$38.25"
    message = page.select_one("#promotion-message").get_text()
    assert message == "Promotion code SAVE10 applied: 10% off the items."
    assert not Order.objects.exists()


def test_apply_with_a_bad_code_says_why_and_keeps_the_cart(browser: Browser, mug: Product):
    promotion("BIG", amount_off=500, minimum_subtotal=10000)

    response = apply(browser, {mug: 3}, "BIG")

    assert response.status_code == 400
    page = soup_of(response)
    message = page.select_one("#promotion-message")
    assert "BIG needs items worth at least $100.00" in message.get_text()
    assert page.select_one("#promotion-code")["aria-invalid"] == "true"
    assert page.select_one(f"#qty-{mug.pk}")["value"] == "3"
    assert page.select_one("[data-discount-row]").has_attr("hidden")


def test_the_applied_page_buys_with_the_code_and_the_local_page_shows_and_takes_the_discount(
    browser: Browser, mug: Product
) -> None:
    promotion("FIVE", amount_off=500)
    applied = apply(browser, {mug: 2}, "five")
    fields = {
        field["name"]: field.get("value", "")
        for field in soup_of(applied).select("[data-buy-form] input[name]")
    }

    response = browser.post_form("/checkout/", fields)

    assert response.status_code == 303, text_of(response)
    payment_page = urlsplit(response["Location"]).path
    page = soup_of(browser.get(payment_page))
    assert "Promotion code FIVE" in page.select_one("[data-discount]").get_text()
    assert "−$5.00" in page.select_one("[data-discount]").get_text()
    assert page.select_one("[data-total]").get_text() == "$31.00"

    browser.visit(location(browser.post(payment_page, pay_form(rate="0"))))

    order = Order.objects.get()
    assert order.status == Order.Status.PAID and not order.amounts_mismatch
    assert (order.promotion_code, order.amount_discount, order.amount_total) == (
        "FIVE",
        500,
        3600 - 500 + 495,
    )
    session = LocalCheckoutSession.objects.get()
    assert session.amount_total == 3600 - 500 + 495
    detail = soup_of(browser.get(f"/orders/{order.reference}/"))
    assert "−$5.00" in detail.select_one("[data-order-discount]").get_text()
    mine = soup_of(browser.get("/"))
    assert "Promotion code FIVE: −$5.00" in mine.select_one("[data-order-discount]").get_text()


def test_the_confirmation_email_lists_the_discount(
    browser: Browser, mug: Product, mailoutbox
) -> None:
    promotion("SAVE10", percent_off=10)
    token = browser.page_token()
    payment_page = urlsplit(browser.buy(token, {mug: 1}, promotion_code="SAVE10")["Location"]).path

    browser.visit(location(browser.post(payment_page, pay_form(rate="0"))))

    (mail,) = mailoutbox
    assert "Promotion code SAVE10: −$1.80" in mail.body
    assert "Total: $21.15" in mail.body  # $18.00 − $1.80 + $4.95
