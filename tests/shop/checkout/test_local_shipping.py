"""The local test payment page asks where to deliver and how, as Stripe Checkout does,
and refuses a country or a rate the checkout did not offer (400, nothing changed)."""

import re
from urllib.parse import urlsplit

import pytest

from home.models import StoreSettings
from shop.models import LocalCheckoutSession, Order, PaymentEvent, Product, ShippingRate
from tests.support.shopper import Browser, location, pay_form, soup_of, text_of

pytestmark = pytest.mark.django_db


def start_checkout(browser: Browser, quantities: dict[Product, int]) -> tuple[Order, str]:
    token = browser.page_token()
    response = browser.buy(token, quantities)
    assert response.status_code == 303
    return Order.objects.get(checkout_token=token), urlsplit(response["Location"]).path


def assert_nothing_changed(order: Order) -> None:
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and not order.amounts_mismatch
    assert not PaymentEvent.objects.exists()
    session = LocalCheckoutSession.objects.get(pk=order.payment_session_id)
    assert session.status == "open" and session.shipping_details is None


def error_for(response, field: str) -> str:
    """The error the page ties to ``field``'s input (aria-describedby)."""
    page = soup_of(response)
    control = page.find(id=f"id_{field}")
    assert control is not None and control.get("aria-invalid") == "true"
    return page.find(id=control["aria-describedby"]).get_text(strip=True)


def test_page_offers_the_ship_to_countries_and_rates_with_price_and_estimate(
    browser: Browser, mug: Product
) -> None:
    _, payment_page = start_checkout(browser, {mug: 1})

    page = soup_of(browser.get(payment_page))

    countries = [o["value"] for o in page.select("#id_country option") if o["value"]]
    assert countries == [c.code for c in StoreSettings.objects.get().ship_to_countries]
    rates = [label.get_text(strip=True) for label in page.select(".ship-rate label")]
    assert rates == ["Standard — $4.95, 3–5 business days", "Express — $14.95, 1–2 business days"]
    for name in ("name", "line1", "line2", "city", "postal_code", "region", "country"):
        assert page.find("label", attrs={"for": f"id_{name}"}) is not None
    assert page.find(id="id_phone") is None


def test_paying_with_an_address_and_a_rate_pays_the_order_with_both(
    browser: Browser, mug: Product
) -> None:
    order, payment_page = start_checkout(browser, {mug: 1})

    success = location(
        browser.post(
            payment_page,
            pay_form(country="FR", rate="1", city="Lyon", postal_code="69001", region=""),
        )
    )
    browser.visit(success)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert (order.shipping_country, order.shipping_city, order.shipping_rate_name) == (
        "FR",
        "Lyon",
        "Express",
    )
    assert (order.amount_shipping, order.amount_total) == (1495, 1800 + 1495)
    text = text_of(browser.get(f"/orders/{order.reference}/"))
    assert "69001 Lyon" in text and "France" in text and "Express, 1–2 business days" in text


def test_a_country_not_offered_is_refused_with_a_form_error(browser: Browser, mug: Product) -> None:
    order, payment_page = start_checkout(browser, {mug: 1})

    response = browser.post(payment_page, pay_form(country="JP"))

    assert response.status_code == 400
    assert error_for(response, "country") == (
        "We do not deliver to that country. Choose one from the list."
    )
    assert_nothing_changed(order)


def test_a_rate_not_offered_is_refused_with_a_form_error(browser: Browser, mug: Product) -> None:
    order, payment_page = start_checkout(browser, {mug: 1})

    response = browser.post(payment_page, pay_form(rate="7"))

    assert response.status_code == 400
    assert "That delivery option is not offered" in text_of(response)
    assert_nothing_changed(order)


def test_a_rate_for_a_country_it_does_not_deliver_to_is_refused(
    browser: Browser, mug: Product
) -> None:
    express = ShippingRate.objects.get(name="Express")
    express.countries = ["US"]
    express.save_revision().publish()
    order, payment_page = start_checkout(browser, {mug: 1})

    response = browser.post(payment_page, pay_form(country="FR", rate="1"))

    assert response.status_code == 400
    assert "Express does not deliver to France. Choose another delivery option." in text_of(
        response
    )
    assert_nothing_changed(order)


def test_a_missing_address_is_refused_field_by_field(browser: Browser, mug: Product) -> None:
    order, payment_page = start_checkout(browser, {mug: 1})

    response = browser.post(payment_page, pay_form(line1="", city=" "))

    assert response.status_code == 400
    assert error_for(response, "line1") == "Enter the address line 1."
    assert error_for(response, "city") == "Enter the city."
    # What was typed is kept.
    assert soup_of(response).find(id="id_name")["value"] == "Ada Lovelace"
    assert_nothing_changed(order)


def test_phone_is_asked_for_when_the_store_setting_says_so_and_may_be_left_out(
    browser: Browser, mug: Product, tote: Product
) -> None:
    settings = StoreSettings.objects.get()
    settings.ask_for_phone = True
    settings.save()
    order, payment_page = start_checkout(browser, {mug: 1})
    assert soup_of(browser.get(payment_page)).find(id="id_phone") is not None

    bad = browser.post(payment_page, pay_form(phone="call me maybe"))
    assert bad.status_code == 400
    assert error_for(bad, "phone") == "Enter a phone number of digits, spaces and +()-."
    assert_nothing_changed(order)

    browser.visit(location(browser.post(payment_page, pay_form(phone="+1 (555) 010-0199"))))
    order.refresh_from_db()
    assert (order.status, order.shipping_phone) == (Order.Status.PAID, "+1 (555) 010-0199")

    other, other_page = start_checkout(browser, {tote: 1})
    browser.visit(location(browser.post(other_page, pay_form())))
    other.refresh_from_db()
    assert (other.status, other.shipping_phone) == (Order.Status.PAID, "")


def test_pay_button_says_delivery_is_added(browser: Browser, mug: Product) -> None:
    _, payment_page = start_checkout(browser, {mug: 1})

    page = soup_of(browser.get(payment_page))

    button = page.find("button", attrs={"value": "pay"}).get_text(strip=True)
    assert re.fullmatch(r"Pay \$18\.00 \+ delivery", button)
