"""A price that went live while the shopper had the page open: shown, never charged unseen."""

import json

import pytest

from shop.models import Order, Product
from tests.support.shopper import Browser, checkout_token_in, soup_of, text_of

pytestmark = pytest.mark.django_db


def _publish_price(product: Product, unit_amount: int) -> None:
    product.unit_amount = unit_amount
    product.save_revision().publish()


def test_buy_after_a_price_went_live_shows_the_new_price_and_orders_nothing(
    browser: Browser, mug: Product, tote: Product
) -> None:
    loaded = browser.get("/")
    _publish_price(mug, 2000)

    response = browser.buy_on(loaded, {mug: 2, tote: 1})

    assert response.status_code == 409
    assert Order.objects.count() == 0
    notice = soup_of(response).select_one("[role=alert]").get_text(" ", strip=True)
    assert "Prices changed since you opened this page" in notice
    assert "Stoneware Mug is now $20.00 (was $18.00)" in notice
    assert "Canvas Tote" not in notice
    prices = [p.get_text(strip=True) for p in soup_of(response).select(".product-card__price data")]
    assert prices[0] == "$20.00"
    # The shopper's choice is kept, with a fresh token and today's prices to post.
    quantity = soup_of(response).find("input", attrs={"name": f"qty_{mug.pk}"})
    assert quantity["value"] == "2"
    assert checkout_token_in(response) != checkout_token_in(loaded)

    again = browser.buy_on(response, {mug: 2, tote: 1})

    assert again.status_code == 303
    assert Order.objects.get().amount_total == 2 * 2000 + 2450


def test_a_price_change_on_a_product_not_chosen_does_not_stop_the_purchase(
    browser: Browser, mug: Product, tote: Product
) -> None:
    loaded = browser.get("/")
    _publish_price(tote, 3000)

    response = browser.buy_on(loaded, {mug: 1})

    assert response.status_code == 303
    assert Order.objects.get().amount_total == 1800


def test_a_garbled_shown_price_is_refused_and_orders_nothing(
    browser: Browser, mug: Product
) -> None:
    token = browser.page_token()

    response = browser.buy(token, {mug: 1}, **{f"price_{mug.pk}": "18.00"})

    assert response.status_code == 400
    assert "This page has expired" in text_of(response)
    assert Order.objects.count() == 0


def _buy_json(browser: Browser, body: dict):
    return browser.post("/checkout/", json.dumps(body), content_type="application/json")


def test_json_client_sending_stale_shown_prices_gets_409_and_no_order(
    browser: Browser, mug: Product
) -> None:
    token = browser.page_token()
    _publish_price(mug, 2000)

    response = _buy_json(
        browser,
        {
            "checkout_token": token,
            "quantities": {str(mug.pk): 1},
            "shown_prices": {str(mug.pk): 1800},
        },
    )

    assert response.status_code == 409
    assert response.json()["prices"] == {str(mug.pk): 2000}
    assert "Stoneware Mug is now $20.00 (was $18.00)" in response.json()["error"]
    assert Order.objects.count() == 0


def test_json_client_sending_no_shown_prices_is_charged_todays_price(
    browser: Browser, mug: Product
) -> None:
    token = browser.page_token()
    _publish_price(mug, 2000)

    response = _buy_json(browser, {"checkout_token": token, "quantities": {str(mug.pk): 1}})

    assert response.status_code == 200
    assert Order.objects.get().amount_total == 2000
