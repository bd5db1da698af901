"""Shipping at checkout, through the real stripe SDK against the fake Stripe server.

What Stripe is asked for (the address's countries, our rates priced on our server), and
what its completed session does to the order: paid with the address and shipping stored
when the amounts are ours; unpaid and flagged for the operator when they are not.
"""

from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from home.models import StoreSettings
from shop.models import Order, OrderEvent, Product, ShippingRate
from tests.support.events import deliver, event
from tests.support.shopper import Browser, soup_of, text_of
from tests.support.stripe_fake import FakeStripe, RecordedRequest
from tests.support.stripe_settings import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db


def session_creates(fake: FakeStripe) -> list[RecordedRequest]:
    return [r for r in fake.requests if r.method == "POST" and r.path == "/v1/checkout/sessions"]


def checkout(browser: Browser, quantities: dict[Product, int], token=None) -> tuple[Order, str]:
    token = token or browser.page_token()
    response = browser.buy(token, quantities)
    assert response.status_code == 303, text_of(response)
    return Order.objects.get(checkout_token=token), urlsplit(response["Location"]).path.rsplit(
        "/", 1
    )[-1]


def pay(browser: Browser, fake: FakeStripe, session_id: str, **choice) -> None:
    paid = fake.complete_session(session_id, customer_email="ada@example.com", **choice)
    response = deliver(browser, event("checkout.session.completed", paid), secret=WEBHOOK_SECRET)
    assert response.status_code == 200


def rate(name: str) -> ShippingRate:
    return ShippingRate.objects.get(name=name)


def rate_publish(rate_name: str, **changes) -> None:
    """An editor changes a rate and publishes it."""
    edited = rate(rate_name)
    for field, value in changes.items():
        setattr(edited, field, value)
    edited.save_revision().publish()


def test_session_collects_an_address_for_the_ship_to_countries_and_offers_the_rates(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    checkout(browser, {mug: 1})

    (sent,) = session_creates(fake)
    countries = [c.code for c in StoreSettings.objects.get().ship_to_countries]
    assert sent.params["shipping_address_collection"] == {"allowed_countries": countries}
    assert "US" in countries and "FR" in countries
    standard, express = sent.params["shipping_options"]
    assert standard["shipping_rate_data"] == {
        "type": "fixed_amount",
        "fixed_amount": {"amount": "495", "currency": "usd"},
        "display_name": "Standard",
        "delivery_estimate": {
            "minimum": {"unit": "business_day", "value": "3"},
            "maximum": {"unit": "business_day", "value": "5"},
        },
        "metadata": {"shipping_option": f"rate-{rate('Standard').pk}"},
    }
    assert express["shipping_rate_data"]["fixed_amount"]["amount"] == "1495"
    assert express["shipping_rate_data"]["display_name"] == "Express"
    assert sent.params["phone_number_collection"] == {"enabled": "false"}


def test_an_order_reaching_the_threshold_is_offered_the_free_rate(
    fake: FakeStripe, browser: Browser, mug: Product, tote: Product
) -> None:
    checkout(browser, {mug: 1, tote: 2})  # 18.00 + 2 × 24.50 = 67.00, free from 50.00

    (sent,) = session_creates(fake)
    amounts = [
        o["shipping_rate_data"]["fixed_amount"]["amount"] for o in sent.params["shipping_options"]
    ]
    assert amounts == ["0", "1495"]


def test_phone_is_asked_for_when_the_store_setting_says_so(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    settings = StoreSettings.objects.get()
    settings.ask_for_phone = True
    settings.save()

    checkout(browser, {mug: 1})

    (sent,) = session_creates(fake)
    assert sent.params["phone_number_collection"] == {"enabled": "true"}


def test_only_live_active_rates_for_ship_to_countries_are_offered(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    # Express only to a country the shop does not ship to: ignored there, so not offered.
    rate_publish("Express", countries=["JP"])

    checkout(browser, {mug: 1})

    (sent,) = session_creates(fake)
    names = [o["shipping_rate_data"]["display_name"] for o in sent.params["shipping_options"]]
    assert names == ["Standard"]


def test_completed_session_with_address_and_shipping_marks_the_order_paid_with_both(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    order, session_id = checkout(browser, {mug: 2})

    pay(
        browser,
        fake,
        session_id,
        shipping_option=1,
        phone="+33 1 23 45 67 89",
        shipping_details={
            "name": "Marie Curie",
            "address": {
                "line1": "11 rue Pierre et Marie Curie",
                "line2": "Bâtiment B",
                "city": "Paris",
                "postal_code": "75005",
                "state": None,
                "country": "FR",
            },
        },
    )

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert (order.amount_subtotal, order.amount_shipping, order.amount_total) == (
        3600,
        1495,
        5095,
    )
    assert (order.shipping_name, order.shipping_line1, order.shipping_line2) == (
        "Marie Curie",
        "11 rue Pierre et Marie Curie",
        "Bâtiment B",
    )
    assert (order.shipping_city, order.shipping_postal_code, order.shipping_country) == (
        "Paris",
        "75005",
        "FR",
    )
    assert order.shipping_phone == "+33 1 23 45 67 89"
    assert (order.shipping_rate_name, order.shipping_min_days, order.shipping_max_days) == (
        "Express",
        1,
        2,
    )
    assert not order.amounts_mismatch
    # The shopper's order page says where, how and what it cost.
    page = browser.get(f"/orders/{order.reference}/")
    delivery = soup_of(page).select_one("[data-order-shipping]").get_text(" ", strip=True)
    assert "Marie Curie" in delivery and "75005 Paris" in delivery and "France" in delivery
    assert "Express, 1–2 business days" in delivery
    text = text_of(page)
    assert "Subtotal $36.00" in text and "Shipping (Express) $14.95" in text
    assert "Total $50.95" in text


def test_a_rate_edited_after_checkout_does_not_change_what_the_order_is_checked_against(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    order, session_id = checkout(browser, {mug: 1})
    rate_publish("Standard", amount=999, name="Slow")

    pay(browser, fake, session_id, shipping_option=0)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert (order.amount_shipping, order.shipping_rate_name) == (495, "Standard")


def mismatch_entries(order: Order) -> list[OrderEvent]:
    return list(order.timeline.filter(kind=OrderEvent.Kind.AMOUNTS_MISMATCH))


def test_a_shipping_amount_we_did_not_offer_leaves_the_order_unpaid_and_flagged(
    fake: FakeStripe, browser: Browser, admin_client, mug: Product
) -> None:
    order, session_id = checkout(browser, {mug: 1})
    paid = fake.complete_session(session_id, shipping_amount=1)

    for _ in range(2):  # Stripe retries; the flag and its entry are written once
        response = deliver(
            browser, event("checkout.session.completed", paid), secret=WEBHOOK_SECRET
        )
        assert response.status_code == 200

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.amounts_mismatch
    (entry,) = mismatch_entries(order)
    assert "$0.01" in entry.message and "not a rate we offered" in entry.message
    assert (order.amount_shipping, order.shipping_rate_name) == (0, "")
    # The operator finds it: a badge in the list, and a filter.
    listing = admin_client.get(reverse("orders:index"), {"amounts_mismatch": "true"})
    rows = soup_of(listing).select("tbody tr")
    assert len(rows) == 1 and order.reference in rows[0].get_text()
    assert rows[0].select_one("[data-order-amounts-mismatch]").get_text() == (
        "Amounts do not match"
    )
    other = admin_client.get(reverse("orders:index"), {"amounts_mismatch": "false"})
    assert order.reference not in text_of(other)


def test_an_address_the_chosen_rate_does_not_cover_leaves_the_order_unpaid_and_flagged(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    rate_publish("Express", countries=["US"])
    order, session_id = checkout(browser, {mug: 1})

    pay(browser, fake, session_id, shipping_option=1, country="FR")

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.amounts_mismatch
    (entry,) = mismatch_entries(order)
    assert "to FR is not a rate we offered" in entry.message


def test_a_subtotal_other_than_our_lines_leaves_the_order_unpaid_and_flagged(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    order, session_id = checkout(browser, {mug: 1})
    paid = fake.complete_session(session_id)
    paid["amount_subtotal"] -= 100
    paid["amount_total"] -= 100

    deliver(browser, event("checkout.session.completed", paid), secret=WEBHOOK_SECRET)

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.amounts_mismatch
    assert "subtotal $17.00, our lines are $18.00" in mismatch_entries(order)[0].message


def test_a_retry_of_the_same_checkout_sends_identical_parameters_after_rates_change(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    token = browser.page_token()
    fake.inject_fault(500)
    assert browser.buy(token, {mug: 1}).status_code == 503
    # Between the two presses an editor reprices a rate and the shop stops asking for phones.
    rate_publish("Standard", amount=650)
    settings = StoreSettings.objects.get()
    settings.ask_for_phone = True
    settings.ship_to_countries = ["US"]
    settings.save()

    checkout(browser, {mug: 1}, token=token)

    first, second = session_creates(fake)
    assert first.idempotency_key == second.idempotency_key == f"checkout-{token}"
    assert first.params == second.params
    assert second.params["shipping_options"][0]["shipping_rate_data"]["fixed_amount"] == {
        "amount": "495",
        "currency": "usd",
    }


def test_buy_is_refused_when_no_rate_can_ship(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    ShippingRate.objects.update(active=False)
    token = browser.page_token()

    response = browser.buy(token, {mug: 1})

    assert response.status_code == 409
    assert "no delivery is available" in text_of(response)
    assert not Order.objects.filter(checkout_token=token).exists()
    assert session_creates(fake) == []
    assert "Delivery is not available right now" in text_of(browser.get("/"))


def test_the_admin_inspect_page_shows_address_rate_shipping_and_subtotal(
    fake: FakeStripe, browser: Browser, admin_client, mug: Product
) -> None:
    order, session_id = checkout(browser, {mug: 1})
    pay(browser, fake, session_id, shipping_option=1, country="US", phone="+1 555 0100")

    page = soup_of(admin_client.get(reverse("orders:inspect", args=[order.pk])))

    facts = {
        dt.get_text(strip=True): dt.find_next_sibling("dd").get_text(" ", strip=True)
        for dt in page.select("dl dt")
    }
    assert facts["Subtotal"] == "$18.00"
    assert facts["Shipping"] == "$14.95"
    assert facts["Total"] == "$32.95"
    assert facts["Rate"] == "Express (1–2 business days)"
    assert facts["Ship to"] == (
        "Ada Lovelace 12 Analytical Row 62701 Springfield United States of America"
    )
    assert facts["Phone"] == "+1 555 0100"
