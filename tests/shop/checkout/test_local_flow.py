"""The purchase through the local gateway, end to end, as a shopper's browser sees it.

Buy on the shop page → the test payment page → Pay (a signed webhook through the real
handler) → the success page → back on the shop page with the paid order under My orders.
"""

import json
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import override_settings

from shop.models import LocalCheckoutSession, Order, PaymentEvent, Product
from tests.support.shopper import (
    CANCELED_MESSAGE,
    Browser,
    location,
    pay_form,
    soup_of,
    text_of,
)

pytestmark = pytest.mark.django_db

LOCAL_PAGE = re.compile(r"^/checkout/local/(cs_local_[A-Za-z0-9_]+)/$")


def start_checkout(browser: Browser, quantities: dict[Product, int]) -> tuple[Order, str]:
    """Press Buy on a freshly loaded shop page; return the order and the payment page path."""
    token = browser.page_token()
    response = browser.buy(token, quantities)
    assert response.status_code == 303
    payment_page = urlsplit(response["Location"]).path
    assert LOCAL_PAGE.match(payment_page), response["Location"]
    return Order.objects.get(checkout_token=token), payment_page


def pay(browser: Browser, payment_page: str, email: str = "ada@example.com") -> str:
    """Press Pay on the test payment page; return where it sends the shopper."""
    return location(browser.post(payment_page, pay_form(email)))


def test_shopper_buys_two_products_and_sees_the_paid_order_on_the_shop_page(
    browser: Browser, mug: Product, tote: Product
) -> None:
    order, payment_page = start_checkout(browser, {mug: 2, tote: 1})
    assert order.status == Order.Status.PENDING
    assert order.amount_total == 2 * 1800 + 2450

    page = browser.get(payment_page)
    assert page.status_code == 200
    text = text_of(page)
    assert "Test payment page" in text
    assert "Stoneware Mug 2 $18.00 $36.00" in text
    assert "Canvas Tote 1 $24.50 $24.50" in text
    assert "Total $60.50" in text

    success_url = pay(browser, payment_page)

    # The payment page confirmed through the signed webhook, before the shopper came back.
    session_id = LOCAL_PAGE.match(payment_page).group(1)
    assert success_url == f"http://testserver/checkout/success/?session_id={session_id}"
    assert PaymentEvent.objects.filter(order=order, type="checkout.session.completed").count() == 1
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.customer_email == "ada@example.com"

    assert location(browser.visit(success_url)) == "/"
    shop_page = browser.shop_page()
    assert f"Thank you! Order {order.reference} is paid." in shop_page.messages
    listed = shop_page.order(order.reference)
    assert listed is not None
    assert "Paid" in listed
    assert "Stoneware Mug × 2" in listed and "Canvas Tote × 1" in listed
    assert "$60.50" in listed

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.com"]
    assert order.reference in mail.outbox[0].subject


def _sections(response) -> list[str]:
    return [
        section.get("id") or section.get("aria-labelledby")
        for section in soup_of(response).select("main section")
    ]


def test_back_from_paying_my_orders_comes_right_under_the_message_then_the_catalogue(
    browser: Browser, mug: Product
) -> None:
    _, payment_page = start_checkout(browser, {mug: 1})

    back = browser.get(
        location(browser.visit(pay(browser, payment_page))).removeprefix("http://testserver")
    )
    later = browser.get("/")

    assert _sections(back)[1:] == ["my-orders", "catalogue-heading"]
    assert _sections(later)[1:] == ["catalogue-heading", "my-orders"]


def test_declined_card_charges_nothing_and_the_shopper_can_pay_afterwards(
    browser: Browser, mug: Product, notebook: Product
) -> None:
    order, payment_page = start_checkout(browser, {mug: 1, notebook: 1})

    declined = browser.post(payment_page, {"action": "decline"})

    assert declined.status_code == 402
    assert "Your card was declined (test). You have not been charged." in text_of(declined)
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    # Stripe reports the declined attempt, and nothing else.
    assert list(PaymentEvent.objects.values_list("type", flat=True)) == [
        "payment_intent.payment_failed"
    ]
    assert mail.outbox == []

    browser.visit(pay(browser, payment_page))

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert len(mail.outbox) == 1


def test_pay_without_an_email_address_asks_for_one_and_charges_nothing(
    browser: Browser, mug: Product
) -> None:
    order, payment_page = start_checkout(browser, {mug: 1})

    response = browser.post(payment_page, {"action": "pay", "email": "not an address"})

    assert response.status_code == 400
    assert "Enter the e-mail address for your receipt." in text_of(response)
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert not PaymentEvent.objects.exists()


def test_pay_with_an_address_longer_than_we_store_asks_for_a_shorter_one(
    browser: Browser, mug: Product
) -> None:
    order, payment_page = start_checkout(browser, {mug: 1})
    # Well-formed (64-character local part, 63-character labels), but over 254 characters.
    long_address = "a" * 64 + "@" + ".".join(["b" * 63] * 3 + ["c" * 30, "com"])
    assert len(long_address) == 291

    response = browser.post(payment_page, {"action": "pay", "email": long_address})

    assert response.status_code == 400
    assert "Enter an e-mail address of at most 254 characters." in text_of(response)
    order.refresh_from_db()
    assert (order.status, order.customer_email) == (Order.Status.PENDING, "")
    assert not PaymentEvent.objects.exists()
    assert LocalCheckoutSession.objects.get().status == "open"
    # A usable address still pays.
    assert location(browser.visit(pay(browser, payment_page))) == "/"
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_cancel_returns_to_the_shop_cancels_the_order_and_charges_nothing(
    browser: Browser, mug: Product, tote: Product
) -> None:
    order, payment_page = start_checkout(browser, {mug: 1, tote: 1})

    cancel_url = location(browser.post(payment_page, {"action": "cancel"}))
    assert location(browser.visit(cancel_url)) == "/"

    shop_page = browser.shop_page()
    assert CANCELED_MESSAGE in shop_page.messages
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert not Order.objects.filter(status=Order.Status.PAID).exists()
    assert shop_page.order(order.reference) is None
    # The payment page no longer takes a payment for it.
    assert "This checkout is expired" in text_of(browser.get(payment_page))
    late_pay = browser.post(payment_page, pay_form("ada@example.com"))
    assert late_pay.status_code == 409
    assert "This checkout has ended." in text_of(late_pay)
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert mail.outbox == []


def test_second_post_with_same_token_reuses_order_and_session(
    browser: Browser, mug: Product, tote: Product
) -> None:
    token = browser.page_token()

    first = browser.buy(token, {mug: 1, tote: 2})
    second = browser.buy(token, {mug: 1, tote: 2})

    assert first.status_code == second.status_code == 303
    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1
    assert LocalCheckoutSession.objects.count() == 1


def test_two_clicks_sent_before_the_first_answer_make_one_order(
    browser: Browser, mug: Product
) -> None:
    # A first-time visitor without JavaScript double-clicks Buy: the second request leaves
    # with the cookies the shop page set, before the first request's answer comes back.
    token = browser.page_token()
    second_click = Browser()
    second_click.client.cookies.load({k: m.value for k, m in browser.client.cookies.items()})

    first = browser.buy(token, {mug: 1})
    second = second_click.buy(token, {mug: 1})

    assert first.status_code == second.status_code == 303
    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1


def test_refreshing_the_success_page_changes_nothing(browser: Browser, mug: Product) -> None:
    order, payment_page = start_checkout(browser, {mug: 3})
    success_url = pay(browser, payment_page)
    browser.visit(success_url)
    order.refresh_from_db()
    paid_at = order.paid_at

    again = browser.visit(success_url)

    assert location(again) == "/"
    assert f"Thank you! Order {order.reference} is paid." in browser.shop_page().messages
    order.refresh_from_db()
    assert (order.status, order.paid_at) == (Order.Status.PAID, paid_at)
    assert PaymentEvent.objects.count() == 1
    assert len(mail.outbox) == 1


def test_paying_twice_on_the_payment_page_confirms_once(browser: Browser, mug: Product) -> None:
    order, payment_page = start_checkout(browser, {mug: 1})

    first = pay(browser, payment_page)
    second = pay(browser, payment_page, email="someone.else@example.com")

    assert first == second
    order.refresh_from_db()
    assert order.customer_email == "ada@example.com"
    assert PaymentEvent.objects.count() == 1
    assert len(mail.outbox) == 1


def test_buying_again_with_a_paid_orders_token_says_it_is_already_paid(
    browser: Browser, mug: Product
) -> None:
    token = browser.page_token()
    payment_page = urlsplit(browser.buy(token, {mug: 1})["Location"]).path
    browser.visit(pay(browser, payment_page))

    again = browser.buy(token, {mug: 1})

    assert location(again) == "/"
    order = Order.objects.get()
    assert f"Order {order.reference}: this order is already paid." in browser.shop_page().messages
    assert LocalCheckoutSession.objects.count() == 1
    assert len(mail.outbox) == 1


def test_another_shoppers_token_is_refused(browser: Browser, mug: Product) -> None:
    token = browser.page_token()
    browser.buy(token, {mug: 1})
    stranger = Browser()

    response = stranger.buy(token, {mug: 1})

    assert response.status_code == 403
    assert "This checkout belongs to someone else." in text_of(response)
    assert Order.objects.count() == 1
    assert LocalCheckoutSession.objects.count() == 1
    # The stranger is not shown the order either.
    assert stranger.shop_page().listed_references == []


def test_json_checkout_answers_with_the_payment_page_url(
    browser: Browser, mug: Product, tote: Product
) -> None:
    token = browser.page_token()

    response = browser.buy_json(token, {mug: 1, tote: 1})

    assert response.status_code == 200
    body = json.loads(response.content)
    assert LOCAL_PAGE.match(urlsplit(body["checkout_url"]).path)
    order = Order.objects.get(checkout_token=token)
    assert order.amount_total == 1800 + 2450
    assert browser.get(urlsplit(body["checkout_url"]).path).status_code == 200


@override_settings(DEBUG=False, LOCAL_GATEWAY_ENABLED=False)
def test_test_payment_page_is_not_found_in_production(browser: Browser, mug: Product) -> None:
    with override_settings(LOCAL_GATEWAY_ENABLED=True):
        order, payment_page = start_checkout(browser, {mug: 1})

    assert browser.get(payment_page).status_code == 404
    assert browser.post(payment_page, {"action": "pay", "email": "a@b.co"}).status_code == 404
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


NOT_FOUND = "We could not find that checkout. If you paid, your order will appear below."


@pytest.mark.parametrize(
    "query",
    ["", "?session_id=", "?session_id=not-a-session", "?session_id=cs_local_unknown", "{victim}"],
    ids=["missing", "empty", "malformed", "unknown", "another shopper's"],
)
def test_success_page_with_a_session_that_is_not_yours_is_a_friendly_message(
    browser: Browser, mug: Product, query: str
) -> None:
    victim = Browser()
    victims_order, payment_page = start_checkout(victim, {mug: 1})
    victim_session = LOCAL_PAGE.match(payment_page).group(1)
    browser.get("/")

    response = browser.get(
        "/checkout/success/" + query.format(victim=f"?session_id={victim_session}")
    )

    assert location(response) == "/"
    assert NOT_FOUND in browser.shop_page().messages
    victims_order.refresh_from_db()
    assert victims_order.status == Order.Status.PENDING
    assert victims_order.awaiting_confirmation_since is None


def test_cancel_link_for_another_shoppers_order_changes_nothing(
    browser: Browser, mug: Product
) -> None:
    victim = Browser()
    victims_order, payment_page = start_checkout(victim, {mug: 1})

    browser.get(f"/checkout/cancel/?order={victims_order.reference}")

    assert CANCELED_MESSAGE in browser.shop_page().messages
    victims_order.refresh_from_db()
    assert victims_order.status == Order.Status.PENDING
    # The victim can still pay.
    victim.visit(pay(victim, payment_page))
    victims_order.refresh_from_db()
    assert victims_order.status == Order.Status.PAID
