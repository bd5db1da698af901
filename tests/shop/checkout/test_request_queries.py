"""What the two money requests cost the database, counted exactly as production runs them.

Transactional tests, so that each request's outermost ``atomic`` is a real transaction (see
:func:`counted`) rather than a savepoint inside the test's own; tasks go
to the database queue as production's default does, so the confirmation e-mail costs the
webhook the one INSERT of its task and nothing more. The tests' cache is in memory, where
production's default (the database cache) would make every cache call a query: the paying
path is also held to the cache calls it makes.

A saving shows as a failing guard: tighten the number and its list.
"""

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import override_settings

from shop.models import Order, OrderEvent, PaymentEvent, Product
from tests.support.events import event, session_object, signature_for
from tests.support.orders import order_make
from tests.support.shopper import Browser
from tests.support.stripe_fake import FakeStripe

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("fake"),
]

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
CACHE_CALLS = ("get", "get_many", "set", "set_many", "add", "delete", "incr", "touch", "has_key")


def counted(statements: int, *, transactions: int) -> int:
    """``statements`` plus the BEGIN and COMMIT Django logs for each transaction (the
    benchmark counts what the cursor runs, which leaves those two out)."""
    return statements + 2 * transactions


@contextmanager
def cache_calls() -> Iterator[list[str]]:
    """The names of the cache operations made inside the block, in order."""
    made: list[str] = []
    backend = cache._connections[cache._alias]  # the backend object the proxy hands out

    def spy(name: str):
        real = getattr(backend, name)

        def call(*args, **kwargs):
            made.append(name)
            return real(*args, **kwargs)

        return call

    with ExitStack() as stack:
        for name in CACHE_CALLS:
            stack.enter_context(mock.patch.object(backend, name, spy(name)))
        yield made


def _paid_delivery(browser: Browser, order: Order):
    body = json.dumps(event("checkout.session.completed", session_object(order))).encode()
    return lambda: browser.post(
        "/stripe/webhook/",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature_for(body),
    )


def _tracked(*products: Product) -> None:
    Product.objects.filter(pk__in=[p.pk for p in products]).update(stock=100)


@override_settings(TASKS=DATABASE_TASKS)
def test_a_paid_event_for_an_order_holding_stock_costs_9_queries_and_no_cache_call(
    browser: Browser, committed_shop: list[Product], django_assert_num_queries
) -> None:
    mug, tote = committed_shop
    _tracked(mug, tote)
    assert browser.buy(browser.page_token(), {mug: 1, tote: 2}).status_code == 303
    order = Order.objects.get()
    deliver = _paid_delivery(browser, order)

    # 1 SELECT the order FOR UPDATE, and (EXISTS) whether it holds unsold units and whether
    # refunds, refund events or disputes wait for its payment (invoice events too, for a
    # session with an invoice); 2 SELECT its held lines; 3 SELECT the products' stock FOR
    # UPDATE; 4 UPDATE the lines sold; 5 SELECT the held and sold units (stock levels);
    # 6 UPDATE the order (paid, payment, address); 7 INSERT its "payment received" and
    # "stock sold" entries; 8 INSERT the PaymentEvent, naming the order; after COMMIT,
    # 9 INSERT the confirmation e-mail's task.
    with django_assert_num_queries(counted(9, transactions=1)), cache_calls() as calls:
        response = deliver()

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert None not in set(order.lines.values_list("sold_at", flat=True))
    assert calls == []


@override_settings(TASKS=DATABASE_TASKS)
def test_a_paid_event_for_an_order_without_held_stock_costs_5_queries(
    browser: Browser, committed_shop: list[Product], django_assert_num_queries
) -> None:
    # As the benchmark's pending orders are made (create_orders): no units held.
    order = order_make(session_id="cs_test_bench_shaped", email="ada@example.com")
    deliver = _paid_delivery(browser, order)

    # As above without 2–5: the lock saw no unsold units, so nothing is sold.
    with django_assert_num_queries(counted(5, transactions=1)), cache_calls() as calls:
        response = deliver()

    assert response.status_code == 200
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert PaymentEvent.objects.get().order_id == order.pk
    assert OrderEvent.objects.filter(order=order).count() == 1
    assert calls == []


def test_a_buy_of_tracked_products_by_a_signed_in_shopper_costs_14_queries(
    browser: Browser, committed_shop: list[Product], fake: FakeStripe, django_assert_num_queries
) -> None:
    mug, tote = committed_shop
    _tracked(mug, tote)
    user = get_user_model().objects.create_user("ann@example.com", "ann@example.com", "pw-1")
    browser.client.force_login(user)
    token = browser.page_token()

    # 1 SELECT the live shop page, 2 SELECT the cart's products for sale, 3 SELECT the
    # session, 4 SELECT the user, 5 SELECT their orders paid lately (a repeated purchase?),
    # 6 SELECT the default site, 7 SELECT the store settings; in one transaction: 8 SELECT
    # the shipping rates, 9 INSERT the order, 10 SELECT the tracked products' stock FOR
    # UPDATE, 11 SELECT their held and sold units, 12 INSERT the lines, 13 INSERT the
    # "placed" and "stock held" entries; and after the provider's answer, 14 UPDATE the
    # order with its session.
    with django_assert_num_queries(counted(14, transactions=1)), cache_calls() as calls:
        response = browser.buy(token, {mug: 1, tote: 2})

    assert response.status_code == 303
    assert Order.objects.get().lines.count() == 2
    # One cache call, after the response: the held units bump the shop's version, so every
    # process draws the cards' "left" again (shop/shop_state.py).
    assert calls == ["set"]
