"""The purchase through the real stripe SDK against the fake Stripe server.

We assert what Stripe would receive (idempotency key, prices from our database, URLs,
metadata) and what the shopper sees when Stripe is slow, down or refuses our key.
"""

import datetime as dt
import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db.models import F

from shop.models import Order, PaymentEvent, Product
from tests.support.events import deliver, event
from tests.support.shopper import (
    CANCELED_MESSAGE,
    UNAVAILABLE_MESSAGE,
    Browser,
    checkout_token_in,
    location,
    soup_of,
)
from tests.support.stripe_fake import FakeStripe, RecordedRequest
from tests.support.stripe_settings import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db

SUCCESS_URL = "http://testserver/checkout/success/?session_id={CHECKOUT_SESSION_ID}"


def session_creates(fake: FakeStripe) -> list[RecordedRequest]:
    return [r for r in fake.requests if r.method == "POST" and r.path == "/v1/checkout/sessions"]


def session_id_from(response) -> str:
    """The Checkout Session the shopper was sent to (Stripe's URL ends with its id)."""
    assert response.status_code == 303, response.status_code
    return urlsplit(response["Location"]).path.rsplit("/", 1)[-1]


def success_url_for(session_id: str) -> str:
    return SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session_id)


def checkout(browser: Browser, quantities: dict[Product, int]) -> tuple[Order, str]:
    token = browser.page_token()
    session_id = session_id_from(browser.buy(token, quantities))
    return Order.objects.get(checkout_token=token), session_id


def test_checkout_opens_one_session_priced_from_the_database(
    fake: FakeStripe, browser: Browser, mug: Product, tote: Product
) -> None:
    token = browser.page_token()
    # The price changes after the shopper loaded the page: the server's price is charged.
    mug.unit_amount = 2000
    mug.save_revision().publish()

    response = browser.buy(token, {mug: 2, tote: 1}, unit_amount="1", amount_total="1")

    session_id = session_id_from(response)
    assert response["Location"] == f"{fake.url}/pay/{session_id}"
    order = Order.objects.get()
    assert (order.payment_session_id, order.amount_total) == (session_id, 2 * 2000 + 2450)
    (sent,) = session_creates(fake)
    assert sent.idempotency_key == f"checkout-{token}"
    assert sent.params["mode"] == "payment"
    assert sent.params["line_items"] == [
        {
            "price_data": {
                "currency": "usd",
                "unit_amount": "2000",
                "product_data": {"name": "Stoneware Mug"},
            },
            "quantity": "2",
        },
        {
            "price_data": {
                "currency": "usd",
                "unit_amount": "2450",
                "product_data": {"name": "Canvas Tote"},
            },
            "quantity": "1",
        },
    ]
    assert sent.params["client_reference_id"] == order.reference
    assert sent.params["metadata"]["order_reference"] == order.reference
    # A card declined at Checkout is reported on the payment intent: it names the order too.
    assert sent.params["payment_intent_data"]["metadata"]["order_reference"] == order.reference
    assert sent.params["success_url"] == SUCCESS_URL
    assert (
        sent.params["cancel_url"] == f"http://testserver/checkout/cancel/?order={order.reference}"
    )
    minutes_ahead = (int(sent.params["expires_at"]) - time.time()) / 60
    assert 29.9 < minutes_ahead <= 31
    assert "customer_email" not in sent.params


def test_signed_in_shoppers_email_is_prefilled_at_stripe(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    user = get_user_model().objects.create_user("ann", "ann@example.com", "a-long-password-1")
    browser.client.force_login(user)

    checkout(browser, {mug: 1})

    (sent,) = session_creates(fake)
    assert sent.params["customer_email"] == "ann@example.com"


def test_json_checkout_answers_with_the_stripe_url(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    response = browser.buy_json(browser.page_token(), {mug: 1})

    assert response.status_code == 200
    (session_id,) = fake.sessions
    assert response.json()["checkout_url"] == f"{fake.url}/pay/{session_id}"


def test_second_post_with_same_token_reuses_the_session(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    token = browser.page_token()

    first = browser.buy(token, {mug: 1})
    second = browser.buy(token, {mug: 1})

    assert first["Location"] == second["Location"]
    assert fake.session_creations == 1
    assert Order.objects.count() == 1


def test_paid_webhook_then_success_page_shows_the_paid_order(
    fake: FakeStripe, browser: Browser, mug: Product, tote: Product
) -> None:
    order, session_id = checkout(browser, {mug: 1, tote: 1})
    paid = fake.complete_session(session_id, customer_email="ada@example.com")

    response = deliver(browser, event("checkout.session.completed", paid), secret=WEBHOOK_SECRET)

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.payment_id == paid["payment_intent"]
    assert location(browser.visit(success_url_for(session_id))) == "/"
    page = browser.shop_page()
    assert f"Thank you! Order {order.reference} is paid." in page.messages
    listed = page.order(order.reference)
    # $42.50 of goods and $4.95 Standard shipping.
    assert listed is not None and "Paid" in listed and "$47.45" in listed
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.com"]


def test_success_page_alone_fulfils_when_no_webhook_arrives(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    order, session_id = checkout(browser, {mug: 2})
    fake.complete_session(session_id)

    browser.visit(success_url_for(session_id))

    assert any(
        r.method == "GET" and r.path == f"/v1/checkout/sessions/{session_id}" for r in fake.requests
    )
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert f"Thank you! Order {order.reference} is paid." in browser.shop_page().messages
    assert not PaymentEvent.objects.exists()
    assert len(mail.outbox) == 1


def test_success_page_for_an_unpaid_session_does_not_mark_it_paid(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    # Only Stripe's answer counts, never the shopper arriving at the success URL.
    order, session_id = checkout(browser, {mug: 2})

    browser.visit(success_url_for(session_id) + "&payment_status=paid")

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    listed = browser.shop_page().order(order.reference)
    assert listed is not None and "Awaiting payment confirmation" in listed
    assert mail.outbox == []


def test_success_page_while_stripe_is_down_asks_the_shopper_to_wait(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    order, session_id = checkout(browser, {mug: 1})
    fake.complete_session(session_id)
    fake.inject_fault(503)

    browser.visit(success_url_for(session_id))

    page = browser.shop_page()
    assert any("waiting for the payment to be confirmed" in m for m in page.messages)
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    listed = page.order(order.reference)
    assert listed is not None and "Awaiting payment confirmation" in listed
    # Refreshing once Stripe answers again settles it.
    browser.visit(success_url_for(session_id))
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert len(mail.outbox) == 1


def test_buying_again_after_paying_at_stripe_says_already_paid(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    # The shopper paid, then went back and pressed Buy again before any webhook came.
    token = browser.page_token()
    session_id = session_id_from(browser.buy(token, {mug: 1}))
    fake.complete_session(session_id)

    again = browser.buy(token, {mug: 1})

    assert location(again) == "/"
    order = Order.objects.get()
    assert f"Order {order.reference}: this order is already paid." in browser.shop_page().messages
    assert order.status == Order.Status.PAID
    assert fake.session_creations == 1
    assert len(mail.outbox) == 1


# -- Stripe unavailable ----------------------------------------------------------------------


def _server_error(fake: FakeStripe) -> Callable[[], None]:
    fake.inject_fault(500)
    return lambda: None


def _rate_limited(fake: FakeStripe) -> Callable[[], None]:
    fake.inject_fault(429)
    return lambda: None


def _refusing(fake: FakeStripe) -> Callable[[], None]:
    fake.refuse_connections()
    return fake.accept_connections


def _too_slow(fake: FakeStripe) -> Callable[[], None]:
    # Longer than STRIPE_TIMEOUT_SECONDS; Stripe still creates the session afterwards.
    fake.inject_delay(1.3)
    return lambda: time.sleep(0.5)


FAULTS = {
    "server error": _server_error,
    "rate limited": _rate_limited,
    "connection refused": _refusing,
    "timeout": _too_slow,
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_unavailable_stripe_charges_nothing_and_buy_again_reuses_the_session(
    fake: FakeStripe,
    browser: Browser,
    mug: Product,
    tote: Product,
    fault: Callable[[FakeStripe], Callable[[], None]],
) -> None:
    token = browser.page_token()
    clear = fault(fake)

    refused = browser.buy(token, {mug: 1, tote: 3})

    assert refused.status_code == 503
    page = soup_of(refused)
    assert page.find(id="checkout-error").get_text(strip=True) == UNAVAILABLE_MESSAGE
    order = Order.objects.get()
    assert order.status == Order.Status.PENDING
    assert fake.session_creations <= 1

    # The shopper presses Buy again on the page they were shown.
    clear()
    assert checkout_token_in(refused) == token
    assert page.find("input", attrs={"name": f"qty_{tote.pk}"})["value"] == "3"
    retried = browser.buy(token, {mug: 1, tote: 3})

    session_id = session_id_from(retried)
    assert list(fake.sessions) == [session_id]
    assert Order.objects.get().payment_session_id == session_id
    assert {r.idempotency_key for r in session_creates(fake)} == {f"checkout-{token}"}


def test_buy_again_long_after_an_outage_starts_a_fresh_checkout(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    token = browser.page_token()
    fake.inject_fault(500)
    refused = browser.buy(token, {mug: 2})
    assert refused.status_code == 503
    # The shopper comes back to that page ten minutes later: a session opened now could not
    # carry the first attempt's expiry, which Stripe would find too near.
    Order.objects.update(created_at=F("created_at") - dt.timedelta(minutes=10))

    late = browser.buy(checkout_token_in(refused), {mug: 2})

    assert late.status_code == 409
    page = soup_of(late)
    error = page.find(id="checkout-error").get_text(strip=True)
    assert error == "This checkout has timed out. Please press Buy again."
    assert page.find("input", attrs={"name": f"qty_{mug.pk}"})["value"] == "2"
    assert fake.session_creations == 0
    fresh = checkout_token_in(late)
    assert fresh != token
    session_id = session_id_from(browser.buy(fresh, {mug: 2}))
    assert list(fake.sessions) == [session_id]
    assert str(Order.objects.get(payment_session_id=session_id).checkout_token) == fresh


def test_rejected_api_key_is_unavailable_to_the_shopper_and_an_error_for_operators(
    fake: FakeStripe, browser: Browser, mug: Product, shop_log: pytest.LogCaptureFixture
) -> None:
    fake.inject_fault(401)

    response = browser.buy(browser.page_token(), {mug: 1})

    assert response.status_code == 503
    assert UNAVAILABLE_MESSAGE in soup_of(response).find(id="checkout-error").get_text()
    assert Order.objects.get().status == Order.Status.PENDING
    errors = [r.getMessage() for r in shop_log.records if r.levelno == logging.ERROR]
    assert any("STRIPE_SECRET_KEY" in message for message in errors), errors
    assert "sk_test_123" not in shop_log.text


# -- leaving the payment page ----------------------------------------------------------------


def test_cancel_expires_the_session_and_cancels_the_order(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    order, session_id = checkout(browser, {mug: 1})
    (sent,) = session_creates(fake)

    assert location(browser.visit(sent.params["cancel_url"])) == "/"

    assert fake.sessions[session_id]["status"] == "expired"
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert CANCELED_MESSAGE in browser.shop_page().messages
    assert mail.outbox == []


def test_cancel_after_the_payment_went_through_keeps_the_order_paid(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    order, session_id = checkout(browser, {mug: 1})
    fake.complete_session(session_id)

    browser.visit(f"http://testserver/checkout/cancel/?order={order.reference}")

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert f"Order {order.reference} is paid after all." in browser.shop_page().messages
    assert len(mail.outbox) == 1


def test_session_expiring_at_stripe_expires_the_order(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    order, session_id = checkout(browser, {mug: 1})
    expired = fake.expire(session_id)

    deliver(browser, event("checkout.session.expired", expired), secret=WEBHOOK_SECRET)

    order.refresh_from_db()
    assert order.status == Order.Status.EXPIRED
    assert order.session_expires_at is not None
    assert order.session_expires_at > dt.datetime.now(dt.UTC)
