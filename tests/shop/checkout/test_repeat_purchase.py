"""Buying again exactly the cart paid for minutes ago asks first (Back, then Buy, by accident)."""

import datetime as dt
import json
from urllib.parse import urlsplit

import pytest

from shop.models import Order, Product
from tests.support.shopper import Browser, form_fields_of, location, pay_form, soup_of

pytestmark = pytest.mark.django_db


def _buy_and_pay(browser: Browser, quantities: dict[Product, int]) -> Order:
    token = browser.page_token()
    payment_page = urlsplit(location(browser.buy(token, quantities))).path
    paid = browser.post(payment_page, pay_form("ada@example.com"))
    browser.visit(location(paid))
    order = Order.objects.get(checkout_token=token)
    assert order.status == Order.Status.PAID
    return order


def _question(response) -> str:
    return soup_of(response).select_one("#repeat-question").get_text(" ", strip=True)


def test_buying_the_cart_just_paid_for_asks_first_and_orders_nothing(
    browser: Browser, mug: Product, tote: Product
) -> None:
    paid = _buy_and_pay(browser, {mug: 2, tote: 1})

    response = browser.buy(browser.page_token(), {tote: 1, mug: 2})

    assert response.status_code == 409
    assert f"You bought these 1 minute ago (order {paid.reference}). Buy them again?" in _question(
        response
    )
    assert Order.objects.count() == 1


def test_confirming_the_question_buys_the_same_cart_again(
    browser: Browser, mug: Product, tote: Product
) -> None:
    _buy_and_pay(browser, {mug: 2, tote: 1})
    asked = browser.buy(browser.page_token(), {mug: 2, tote: 1})

    confirmed = browser.post_form("/checkout/", form_fields_of(asked, "#repeat-question form"))

    assert confirmed.status_code == 303
    second = Order.objects.exclude(status=Order.Status.PAID).get()
    assert sorted((line.product_id, line.quantity) for line in second.lines.all()) == sorted(
        [(mug.pk, 2), (tote.pk, 1)]
    )


def test_minutes_in_the_question_count_from_the_payment(browser: Browser, mug: Product) -> None:
    paid = _buy_and_pay(browser, {mug: 1})
    Order.objects.filter(pk=paid.pk).update(paid_at=paid.paid_at - dt.timedelta(minutes=7))

    response = browser.buy(browser.page_token(), {mug: 1})

    assert f"You bought these 7 minutes ago (order {paid.reference})" in _question(response)


@pytest.mark.parametrize(
    ("bought_minutes_ago", "again"),
    [(16, "same cart"), (0, "one more mug"), (0, "fewer items")],
)
def test_a_different_cart_or_an_older_purchase_is_bought_without_a_question(
    browser: Browser, mug: Product, tote: Product, bought_minutes_ago: int, again: str
) -> None:
    paid = _buy_and_pay(browser, {mug: 1, tote: 1})
    Order.objects.filter(pk=paid.pk).update(
        paid_at=paid.paid_at - dt.timedelta(minutes=bought_minutes_ago)
    )
    cart = {
        "same cart": {mug: 1, tote: 1},
        "one more mug": {mug: 2, tote: 1},
        "fewer items": {mug: 1},
    }[again]

    response = browser.buy(browser.page_token(), cart)

    assert response.status_code == 303
    assert Order.objects.count() == 2


def test_another_shoppers_recent_purchase_asks_nothing(browser: Browser, mug: Product) -> None:
    _buy_and_pay(browser, {mug: 1})
    stranger = Browser()

    response = stranger.buy(stranger.page_token(), {mug: 1})

    assert response.status_code == 303


def test_json_client_is_told_of_the_recent_purchase_and_may_confirm(
    browser: Browser, mug: Product
) -> None:
    paid = _buy_and_pay(browser, {mug: 1})
    body = {"checkout_token": browser.page_token(), "quantities": {str(mug.pk): 1}}

    asked = browser.post("/checkout/", json.dumps(body), content_type="application/json")
    confirmed = browser.post(
        "/checkout/", json.dumps({**body, "confirm_repeat": True}), content_type="application/json"
    )

    assert asked.status_code == 409
    assert asked.json()["repeat_of"] == paid.reference
    assert confirmed.status_code == 200
    assert Order.objects.count() == 2
