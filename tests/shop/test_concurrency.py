"""Races that real traffic produces, on PostgreSQL where the row locks are real.

Each request runs in its own thread with its own database connection, released together
by a barrier: a double-clicked Buy, Stripe delivering one event to several servers at once,
and the webhook racing the shopper's return to the success page.
"""

import json
from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core import mail
from django.http import HttpResponse
from django.test import Client

from shop.models import GuestClaim, Order, PaymentEvent, Product
from shop.shoppers import GUEST_COOKIE_NAME
from tests.support.events import event, session_object, signature_for
from tests.support.shopper import Browser
from tests.support.stripe_fake import FakeStripe
from tests.support.stripe_settings import WEBHOOK_SECRET
from tests.support.threads import together

pytestmark = [
    pytest.mark.postgres,
    # serialized_rollback: each test starts from the migrated data (Wagtail's root page),
    # which the flush after a transactional test removes.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    # Ten threads share two cores here: give each Stripe call room.
    pytest.mark.stripe_settings(STRIPE_TIMEOUT_SECONDS=5),
]


def same_browser(browser: Browser) -> Client:
    """Another connection from the same browser: same cookies, same session."""
    client = Client()
    client.cookies.load({name: morsel.value for name, morsel in browser.client.cookies.items()})
    return client


@pytest.fixture
def transitions() -> Callable[[Order], int]:
    """How many times an order moved pending → paid, counted from its timeline."""
    return lambda order: order.timeline.filter(
        old_status=Order.Status.PENDING, new_status=Order.Status.PAID
    ).count()


def test_ten_simultaneous_buys_with_one_token_make_one_order_and_one_session(
    fake: FakeStripe, browser: Browser, committed_shop: list[Product]
) -> None:
    mug, tote = committed_shop
    token = browser.page_token()
    form = urlencode({"checkout_token": token, f"qty_{mug.pk}": "2", f"qty_{tote.pk}": "1"})
    clients = [same_browser(browser) for _ in range(10)]

    responses: list[HttpResponse] = together(
        10,
        lambda i: clients[i].post(
            "/checkout/", form, content_type="application/x-www-form-urlencoded"
        ),
    )

    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {303, 503}, statuses
    assert statuses.count(503) <= 2, statuses
    assert len({r["Location"] for r in responses if r.status_code == 303}) == 1
    assert Order.objects.count() == 1
    assert fake.session_creations == 1
    (session_id,) = fake.sessions
    assert Order.objects.get().payment_session_id == session_id


def test_two_simultaneous_buys_from_one_browser_with_a_session_make_one_order_that_both_keep(
    fake: FakeStripe, browser: Browser, committed_shop: list[Product]
) -> None:
    # A guest's Buy moves their session to a new key; the other click carries the old one.
    mug, tote = committed_shop
    browser.refused_buy(tote)  # a first visit gives no session; this gives one
    token = browser.page_token()
    form = urlencode({"checkout_token": token, f"qty_{mug.pk}": "1"})
    old_key = browser.client.cookies[settings.SESSION_COOKIE_NAME].value
    clients = [same_browser(browser) for _ in range(2)]

    responses: list[HttpResponse] = together(
        2,
        lambda i: clients[i].post(
            "/checkout/", form, content_type="application/x-www-form-urlencoded"
        ),
    )

    assert [r.status_code for r in responses] == [303, 303]
    assert responses[0]["Location"] == responses[1]["Location"]
    order = Order.objects.get()
    assert fake.session_creations == 1
    for client in clients:
        assert client.cookies[settings.SESSION_COOKIE_NAME].value != old_key
        assert client.get(f"/orders/{order.reference}/").status_code == 200
    stale = Client()
    stale.cookies[settings.SESSION_COOKIE_NAME] = old_key
    assert stale.get(f"/orders/{order.reference}/").status_code == 404


@pytest.mark.parametrize("clicks", [2, 10])
def test_simultaneous_first_buys_with_only_the_guest_cookie_make_one_order_that_all_keep(
    fake: FakeStripe, browser: Browser, committed_shop: list[Product], clicks: int
) -> None:
    # A first visit leaves no session, only the guest cookie: the clicks' first Buy claims
    # it, and the others (same checkout token) wait for that claim and follow it.
    mug, _ = committed_shop
    token = browser.page_token()
    assert set(browser.cookies()) == {GUEST_COOKIE_NAME, settings.CSRF_COOKIE_NAME}
    form = urlencode({"checkout_token": token, f"qty_{mug.pk}": "1"})
    clients = [same_browser(browser) for _ in range(clicks)]

    responses: list[HttpResponse] = together(
        clicks,
        lambda i: clients[i].post(
            "/checkout/", form, content_type="application/x-www-form-urlencoded"
        ),
    )

    statuses = [r.status_code for r in responses]
    # Ten threads on two cores: a Stripe call may time out (503, the order kept for a retry).
    assert set(statuses) <= {303, 503}, statuses
    assert statuses.count(503) <= clicks // 5, statuses
    assert len({r["Location"] for r in responses if r.status_code == 303}) == 1
    order = Order.objects.get()
    assert fake.session_creations == 1
    assert GuestClaim.objects.count() == 1
    for client, response in zip(clients, responses, strict=True):
        if response.status_code == 303:
            assert client.get(f"/orders/{order.reference}/").status_code == 200
    # The cookie by itself shows nothing: only the sessions those Buys made hold the token.
    cookie_only = Client()
    cookie_only.cookies[GUEST_COOKIE_NAME] = browser.cookies()[GUEST_COOKIE_NAME]
    assert cookie_only.get(f"/orders/{order.reference}/").status_code == 404


def test_twenty_simultaneous_deliveries_of_one_event_apply_it_once(
    browser: Browser, committed_shop: list[Product], transitions: Callable[[Order], int]
) -> None:
    mug, _ = committed_shop
    assert browser.buy(browser.page_token(), {mug: 1}).status_code == 303
    order = Order.objects.get()
    body = json.dumps(event("checkout.session.completed", session_object(order))).encode()
    signature = signature_for(body)

    responses: list[HttpResponse] = together(
        20,
        lambda i: Client().post(
            "/stripe/webhook/",
            body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        ),
    )

    assert [r.status_code for r in responses] == [200] * 20
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert PaymentEvent.objects.count() == 1
    assert transitions(order) == 1
    assert len(mail.outbox) == 1


def test_webhook_and_success_page_racing_pay_the_order_once(
    fake: FakeStripe,
    browser: Browser,
    committed_shop: list[Product],
    transitions: Callable[[Order], int],
) -> None:
    mug, tote = committed_shop
    orders = []
    for _ in range(3):  # a few rounds, so the race goes both ways
        # The same cart each round: the shopper confirms buying it again.
        response = browser.buy(browser.page_token(), {mug: 1, tote: 1}, confirm_repeat="1")
        session_id = response["Location"].rsplit("/", 1)[-1]
        paid = fake.complete_session(session_id)
        body = json.dumps(event("checkout.session.completed", paid)).encode()
        signature = signature_for(body, secret=WEBHOOK_SECRET)
        shopper = same_browser(browser)

        def race(index: int, body=body, signature=signature, shopper=shopper, sid=session_id):
            if index == 0:
                return Client().post(
                    "/stripe/webhook/",
                    body,
                    content_type="application/json",
                    HTTP_STRIPE_SIGNATURE=signature,
                )
            return shopper.get(f"/checkout/success/?session_id={sid}")

        webhook, success = together(2, race)

        assert webhook.status_code == 200
        assert (success.status_code, success["Location"]) == (302, "/")
        orders.append(Order.objects.get(payment_session_id=session_id))

    for order in orders:
        assert order.status == Order.Status.PAID
        assert transitions(order) == 1
    assert len(mail.outbox) == len(orders)
    assert sorted(m.subject for m in mail.outbox) == sorted(
        f"Your order {o.reference} is confirmed" for o in orders
    )
