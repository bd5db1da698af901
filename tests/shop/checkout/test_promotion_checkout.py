"""Promotion codes at checkout, through the real stripe SDK against the fake Stripe server.

A code reaches Stripe as a once-only coupon (its idempotency key names the code's version)
passed in the session's ``discounts``; the order keeps the code, the discount and each
line's share; a completed session is paid only when total = subtotal − discount + shipping.
"""

import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from shop.models import Order, OrderEvent, Product
from tests.support.events import deliver, event
from tests.support.promotions import promotion, promotion_publish
from tests.support.shopper import Browser, soup_of, text_of
from tests.support.stripe_fake import FakeStripe, RecordedRequest
from tests.support.stripe_settings import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db


def posts_to(fake: FakeStripe, path: str) -> list[RecordedRequest]:
    return [r for r in fake.requests if r.method == "POST" and r.path == path]


def checkout(browser: Browser, quantities: dict[Product, int], code: str) -> tuple[Order, str]:
    token = browser.page_token()
    response = browser.buy(token, quantities, promotion_code=code)
    assert response.status_code == 303, text_of(response)
    session_id = urlsplit(response["Location"]).path.rsplit("/", 1)[-1]
    return Order.objects.get(checkout_token=token), session_id


def pay(browser: Browser, fake: FakeStripe, session_id: str, **choice) -> None:
    paid = fake.complete_session(session_id, customer_email="ada@example.com", **choice)
    response = deliver(browser, event("checkout.session.completed", paid), secret=WEBHOOK_SECRET)
    assert response.status_code == 200


def test_a_percent_code_reaches_stripe_as_a_coupon_in_the_sessions_discounts(
    fake: FakeStripe, browser: Browser, mug: Product, tote: Product
) -> None:
    code = promotion("save10", percent_off=10)

    order, session_id = checkout(browser, {mug: 1, tote: 1}, "Save10")

    (coupon_create,) = posts_to(fake, "/v1/coupons")
    assert coupon_create.params == {
        "duration": "once",
        "name": "SAVE10",
        "metadata": {"promotion_code": "SAVE10"},
        "percent_off": "10",
    }
    assert coupon_create.idempotency_key == order.promotion_terms["coupon_key"]
    assert coupon_create.idempotency_key.startswith(f"coupon-SAVE10-{code.latest_revision_id}-")
    (session_create,) = posts_to(fake, "/v1/checkout/sessions")
    (coupon,) = fake.coupons.values()
    assert session_create.params["discounts"] == [{"coupon": coupon["id"]}]
    # Our lines keep their prices: the discount is Stripe's.
    amounts = [item["price_data"]["unit_amount"] for item in session_create.params["line_items"]]
    assert amounts == ["1800", "2450"]
    assert fake.sessions[session_id]["total_details"]["amount_discount"] == 425
    assert (order.promotion_code, order.amount_discount, order.amount_total) == (
        "SAVE10",
        425,
        3825,
    )
    assert [line.amount_discount for line in order.lines.all()] == [180, 245]


def test_an_amount_code_reaches_stripe_with_its_currency(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    promotion("FIVEOFF", amount_off=500)

    order, _ = checkout(browser, {mug: 2}, "fiveoff")

    (coupon_create,) = posts_to(fake, "/v1/coupons")
    assert coupon_create.params["amount_off"] == "500"
    assert coupon_create.params["currency"] == "usd"
    assert "percent_off" not in coupon_create.params
    (session_create,) = posts_to(fake, "/v1/checkout/sessions")
    assert session_create.params["discounts"] == [{"coupon": next(iter(fake.coupons))}]
    assert (order.amount_subtotal, order.amount_discount, order.amount_total) == (3600, 500, 3100)


def test_an_editors_change_makes_a_new_coupon_and_past_orders_keep_their_terms(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    promotion("SPRING", percent_off=10)
    first, _ = checkout(browser, {mug: 1}, "SPRING")

    promotion_publish("SPRING", percent_off=20)
    second, _ = checkout(browser, {mug: 1}, "SPRING")

    first_key, second_key = (r.idempotency_key for r in posts_to(fake, "/v1/coupons"))
    assert first_key != second_key
    assert len(fake.coupons) == 2
    first.refresh_from_db()
    assert (first.amount_discount, first.promotion_terms["percent_off"]) == (180, 10)
    assert (second.amount_discount, second.promotion_terms["percent_off"]) == (360, 20)


def test_a_retried_buy_gets_the_same_coupon_and_session(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    promotion("ONCE", percent_off=10, max_redemptions=1)
    token = browser.page_token()

    first = browser.buy(token, {mug: 1}, promotion_code="ONCE")
    again = browser.buy(token, {mug: 1}, promotion_code="ONCE")

    # The order's own hold does not refuse its retry.
    assert first.status_code == again.status_code == 303
    assert first["Location"] == again["Location"]
    assert len(fake.coupons) == 1 and fake.session_creations == 1


def test_a_session_charging_subtotal_less_discount_plus_shipping_is_paid_with_its_parts(
    fake: FakeStripe, browser: Browser, mug: Product, tote: Product
) -> None:
    promotion("SAVE10", percent_off=10)
    order, session_id = checkout(browser, {mug: 1, tote: 1}, "SAVE10")

    pay(browser, fake, session_id, shipping_option=1)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID and not order.amounts_mismatch
    assert (order.amount_subtotal, order.amount_discount, order.amount_shipping) == (
        4250,
        425,
        1495,
    )
    assert order.amount_total == 4250 - 425 + 1495 == fake.sessions[session_id]["amount_total"]
    assert sum(line.amount_discount for line in order.lines.all()) == 425


def test_free_shipping_looks_at_the_subtotal_after_the_discount(
    fake: FakeStripe, browser: Browser, mug: Product, tote: Product
) -> None:
    # $42.50 + $18.00 = $60.50 reaches the $50 threshold; 20% off leaves $48.40, which does not.
    promotion("TWENTY", percent_off=20)
    checkout(browser, {mug: 2, tote: 1}, "TWENTY")

    (session_create,) = posts_to(fake, "/v1/checkout/sessions")
    standard = session_create.params["shipping_options"][0]["shipping_rate_data"]
    assert standard["fixed_amount"]["amount"] == "495"


@pytest.mark.parametrize(
    "charged",
    [
        pytest.param(lambda s: s["amount_total"] + 425, id="discount-not-taken"),
        pytest.param(lambda s: s["amount_total"] - 100, id="more-off-than-the-code"),
    ],
)
def test_any_other_total_is_not_paid_and_is_flagged(
    fake: FakeStripe, browser: Browser, mug: Product, tote: Product, charged
) -> None:
    promotion("SAVE10", percent_off=10)
    order, session_id = checkout(browser, {mug: 1, tote: 1}, "SAVE10")
    paid = fake.complete_session(session_id, customer_email="ada@example.com")
    paid["amount_total"] = charged(paid)

    deliver(browser, event("checkout.session.completed", paid), secret=WEBHOOK_SECRET)

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.amounts_mismatch
    assert OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.AMOUNTS_MISMATCH).exists()


def test_a_discount_other_than_the_codes_is_not_paid(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    promotion("SAVE10", percent_off=10)
    order, session_id = checkout(browser, {mug: 1}, "SAVE10")
    paid = fake.complete_session(session_id, customer_email="ada@example.com")
    paid["total_details"]["amount_discount"] = 900
    paid["amount_total"] = 1800 - 900 + 495

    deliver(browser, event("checkout.session.completed", paid), secret=WEBHOOK_SECRET)

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.amounts_mismatch


def _refusal(browser: Browser, mug: Product, code: str):
    token = browser.page_token()
    response = browser.buy(token, {mug: 2}, promotion_code=code)
    assert not Order.objects.filter(checkout_token=token).exists()
    return response


@pytest.mark.parametrize(
    ("terms", "status", "says"),
    [
        ({}, 400, "We don't know the promotion code NOPE"),
        ({"active": False}, 400, "NOPE is not active"),
        ({"valid_until": timezone.now() - dt.timedelta(days=1)}, 400, "NOPE has expired"),
        ({"valid_from": timezone.now() + dt.timedelta(days=1)}, 400, "NOPE is valid only from"),
        ({"minimum_subtotal": 5000}, 400, "NOPE needs items worth at least $50.00"),
    ],
    ids=["unknown", "inactive", "expired", "not-yet-valid", "below-minimum"],
)
def test_a_code_that_cannot_be_used_is_refused_saying_why_and_keeps_the_cart(
    fake: FakeStripe, browser: Browser, mug: Product, terms, status, says
) -> None:
    if terms:
        promotion("NOPE", **terms)

    response = _refusal(browser, mug, "nope")

    assert response.status_code == status
    page = soup_of(response)
    assert says in page.select_one("#checkout-error").get_text()
    assert page.select_one(f"#qty-{mug.pk}")["value"] == "2"
    assert page.select_one("#promotion-code")["value"].upper() == "NOPE"
    assert not fake.requests


def test_an_exhausted_code_is_refused_with_409(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    promotion("LAST", percent_off=10, max_redemptions=1)
    checkout(browser, {mug: 1}, "LAST")

    response = _refusal(browser, mug, "LAST")

    assert response.status_code == 409
    assert "LAST has been used up" in text_of(response)


@pytest.mark.parametrize("code", ["WEL\x00COME", "WELCOME 10", "ü10", "-LEADING"])
def test_a_code_no_editor_could_have_saved_is_unknown_without_an_error(
    fake: FakeStripe, browser: Browser, mug: Product, code: str
) -> None:
    # PostgreSQL refuses a NUL in a query's string with an error, not a miss.
    response = _refusal(browser, mug, code)

    assert response.status_code == 400
    assert "We don't know the promotion code" in text_of(response)
    assert not fake.requests


def test_an_unpublished_draft_code_is_unknown(fake: FakeStripe, browser: Browser, mug: Product):
    promotion("DRAFT", percent_off=10, publish=False)

    assert _refusal(browser, mug, "DRAFT").status_code == 400


def test_a_json_checkout_with_a_bad_code_gets_the_reason(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    import json

    body = {"checkout_token": browser.page_token(), "quantities": {str(mug.pk): 1}}
    response = browser.post(
        "/checkout/",
        json.dumps({**body, "promotion_code": "MISSING"}),
        content_type="application/json",
        HTTP_ACCEPT="application/json",
    )

    assert response.status_code == 400
    assert response.json() == {"error": "We don't know the promotion code MISSING."}
