"""A declined payment reads "Payment declined" everywhere, never like an abandoned checkout."""

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from shop.models import Order, PaymentEvent, Product
from tests.support.events import deliver, event, new_id, session_object
from tests.support.shopper import Browser, location, pay_form, soup_of, text_of

pytestmark = pytest.mark.django_db


def _payment_page(browser: Browser, quantities: dict[Product, int]) -> tuple[Order, str]:
    token = browser.page_token()
    payment_page = urlsplit(location(browser.buy(token, quantities))).path
    return Order.objects.get(checkout_token=token), payment_page


def _badge(response, reference: str) -> str:
    heading = soup_of(response).find(id=f"order-{reference}")
    assert heading is not None, f"order {reference} is not listed"
    return heading.find_parent("article").select_one(".status").get_text(strip=True)


def test_declined_card_shows_payment_declined_in_my_orders_and_on_the_order_page(
    browser: Browser, mug: Product
) -> None:
    order, payment_page = _payment_page(browser, {mug: 1})

    declined = browser.post(payment_page, {"action": "decline"})

    assert declined.status_code == 402
    assert _badge(browser.get("/"), order.reference) == "Payment declined"
    detail = browser.get(f"/orders/{order.reference}/")
    assert detail.status_code == 200
    assert "Payment declined" in text_of(detail)
    assert "Your card was declined (test). You have not been charged." in text_of(detail)
    assert "waiting for the payment provider" not in text_of(browser.get("/"))


def test_leaving_the_payment_page_after_a_decline_says_declined_not_canceled(
    browser: Browser, mug: Product
) -> None:
    order, payment_page = _payment_page(browser, {mug: 1})
    browser.post(payment_page, {"action": "decline"})

    back = browser.post(payment_page, {"action": "cancel"})
    shop_page = browser.visit(location(browser.visit(location(back))))

    messages = [m.get_text(" ", strip=True) for m in soup_of(shop_page).select(".messages p")]
    assert messages == [
        f"Order {order.reference}: payment declined. "
        "Your card was declined (test). You have not been charged."
    ]
    assert _badge(shop_page, order.reference) == "Payment declined"


def test_paying_after_a_decline_makes_the_order_paid(browser: Browser, mug: Product) -> None:
    order, payment_page = _payment_page(browser, {mug: 1})
    browser.post(payment_page, {"action": "decline"})

    success = location(browser.post(payment_page, pay_form("a@example.com")))
    browser.visit(success)

    assert _badge(browser.get("/"), order.reference) == "Paid"
    assert list(
        PaymentEvent.objects.filter(order=order).values_list("type", flat=True).order_by("pk")
    ) == ["payment_intent.payment_failed", "checkout.session.completed"]


def _payment_failed(
    reference: str, message: str | None = "Your card has insufficient funds."
) -> dict:
    """``payment_intent.payment_failed`` as Stripe sends it for a card declined at Checkout."""
    return event(
        "payment_intent.payment_failed",
        {
            "id": new_id("pi"),
            "object": "payment_intent",
            "status": "requires_payment_method",
            "metadata": {"order_reference": reference},
            "last_payment_error": (
                {"type": "card_error", "code": "card_declined", "message": message}
                if message
                else None
            ),
        },
    )


def test_stripe_card_decline_is_recorded_on_the_order(browser: Browser, mug: Product) -> None:
    order, _ = _payment_page(browser, {mug: 1})

    response = deliver(browser, _payment_failed(order.reference))

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert order.decline_reason == "Your card has insufficient funds. You have not been charged."
    assert _badge(browser.get("/"), order.reference) == "Payment declined"


def test_decline_reported_after_the_payment_leaves_the_order_paid(
    browser: Browser, mug: Product
) -> None:
    order, _ = _payment_page(browser, {mug: 1})
    deliver(browser, event("checkout.session.completed", session_object(order)))

    deliver(browser, _payment_failed(order.reference))

    assert _badge(browser.get("/"), order.reference) == "Paid"


def test_decline_for_an_order_we_do_not_know_is_accepted_and_changes_nothing(
    browser: Browser, mug: Product
) -> None:
    order, _ = _payment_page(browser, {mug: 1})

    assert deliver(browser, _payment_failed("ZZZZ-ZZZZ")).status_code == 200
    assert (
        deliver(browser, event("payment_intent.payment_failed", {"id": "pi_x"})).status_code == 200
    )

    order.refresh_from_db()
    assert order.payment_declined_at is None


def test_async_payment_failure_reads_payment_declined(browser: Browser, mug: Product) -> None:
    order, _ = _payment_page(browser, {mug: 1})
    browser.get(f"/checkout/success/?session_id={order.payment_session_id}")

    deliver(
        browser,
        event(
            "checkout.session.async_payment_failed",
            session_object(order, payment_status="unpaid"),
        ),
    )

    assert _badge(browser.get("/"), order.reference) == "Payment declined"


def test_admin_lists_and_inspects_a_declined_order_as_payment_declined(
    browser: Browser, mug: Product
) -> None:
    order, payment_page = _payment_page(browser, {mug: 1})
    browser.post(payment_page, {"action": "decline"})
    operator = Client()
    operator.force_login(get_user_model().objects.create_superuser("op", "op@example.com", "pw"))

    listing = soup_of(operator.get(reverse("orders:index")))
    inspect = text_of(operator.get(reverse("orders:inspect", args=[order.pk])))

    row = next(tr for tr in listing.select("tbody tr") if order.reference in tr.get_text())
    assert "Payment declined" in row.get_text(" ", strip=True)
    assert re.search(r"Status\s+Payment declined", inspect)
    assert "Your card was declined (test). You have not been charged." in inspect
