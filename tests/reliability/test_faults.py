"""Faults: Stripe failing in ways not covered elsewhere, the database connection cut under a
webhook, a server worker killed while it handles one.

Stripe faults go through the checkout view in this process against the fake Stripe.
tests/shop/checkout/test_stripe_flow.py already covers connection refused, slower than
our timeout, 500 and 429 (503, the shopper's message, the order pending, Buy again reusing
the one session) and a rejected key's 503 and log; here are the idempotency error, the
rejected key's recovery, and the bounds on our Stripe client: its timeout and retries.

The database and worker faults need real server processes (``cluster``, PostgreSQL). A
webhook is stopped at a known point by holding the order's row lock from this process:
it has recorded the event and waits in ``select_for_update``, inside its transaction.
"""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.http import HttpResponse

from shop.models import Order, Product
from tests.reliability.cluster import (
    REQUEST_TIMEOUT,
    PlacedOrder,
    ShopCluster,
    SignedEvent,
    deliver,
    place_order,
    signed_event,
    worker_application_names,
    worker_pid_of,
)
from tests.support.servers import AppServer, wait_until
from tests.support.shopper import UNAVAILABLE_MESSAGE, Browser, checkout_token_in, soup_of
from tests.support.stripe_fake import FakeStripe, RecordedRequest
from tests.support.threads import together

# -- Stripe faults, through the checkout view ------------------------------------------------

TIMEOUT_SECONDS = 0.5
RETRIES = 2
# stripe-python sleeps 0.5 s before its first retry and 0.5-1 s before its second.
MOST_BACKOFF_SECONDS = 0.5 + 1.0
# Retries on, as in production: how many there are is part of what is tested.
pytestmark = pytest.mark.stripe_settings(
    STRIPE_TIMEOUT_SECONDS=TIMEOUT_SECONDS, STRIPE_MAX_NETWORK_RETRIES=RETRIES
)


def session_creates(fake: FakeStripe) -> list[RecordedRequest]:
    return [r for r in fake.requests if r.method == "POST" and r.path == "/v1/checkout/sessions"]


def assert_refused_as_unavailable(response: HttpResponse) -> None:
    """503 with the shopper's message; the order is kept pending, with no session."""
    assert response.status_code == 503
    error = soup_of(response).find(id="checkout-error").get_text(strip=True)
    assert error == UNAVAILABLE_MESSAGE
    order = Order.objects.get()
    assert (order.status, order.payment_session_id) == (Order.Status.PENDING, None)


def assert_buy_again_opens_the_one_session(
    browser: Browser, refused: HttpResponse, mug: Product, fake: FakeStripe
) -> None:
    """Buy again on the refused page (same token): one session, under the token's one key."""
    token = checkout_token_in(refused)
    retried = browser.buy(token, {mug: 1})

    assert retried.status_code == 303
    (session_id,) = fake.sessions
    assert retried["Location"].endswith(f"/pay/{session_id}")
    assert Order.objects.get().payment_session_id == session_id
    assert {r.idempotency_key for r in session_creates(fake)} == {f"checkout-{token}"}


def _idempotency_error(fake: FakeStripe) -> None:
    fake.inject_fault(
        400,
        error_type="idempotency_error",
        message="Keys for idempotent requests can only be used with the same parameters.",
    )


def _rejected_key(fake: FakeStripe) -> None:
    fake.inject_fault(401)


REFUSALS: dict[str, Callable[[FakeStripe], None]] = {
    "idempotency error": _idempotency_error,
    "rejected API key": _rejected_key,
}


@pytest.mark.django_db
@pytest.mark.parametrize("refuse", REFUSALS.values(), ids=REFUSALS.keys())
def test_stripe_refusing_charges_nothing_and_buy_again_opens_one_session(
    fake: FakeStripe, mug: Product, refuse: Callable[[FakeStripe], None]
) -> None:
    browser = Browser()
    refuse(fake)

    refused = browser.buy(browser.page_token(), {mug: 1})

    assert_refused_as_unavailable(refused)
    # Neither is transient: retrying inside the request would only repeat the refusal.
    assert len(session_creates(fake)) == 1
    assert_buy_again_opens_the_one_session(browser, refused, mug, fake)


@pytest.mark.django_db
def test_stripe_failing_every_attempt_is_retried_a_bounded_number_of_times_with_one_key(
    fake: FakeStripe, mug: Product
) -> None:
    browser = Browser()
    fake.inject_fault(500, times=RETRIES + 1)

    refused = browser.buy(browser.page_token(), {mug: 1})

    assert_refused_as_unavailable(refused)
    attempts = session_creates(fake)
    assert len(attempts) == RETRIES + 1
    assert len({a.idempotency_key for a in attempts}) == 1
    assert_buy_again_opens_the_one_session(browser, refused, mug, fake)


@pytest.mark.django_db
@pytest.mark.slow
def test_stripe_slower_than_our_timeout_on_every_attempt_gives_up_in_bounded_time(
    fake: FakeStripe, mug: Product
) -> None:
    browser = Browser()
    token = browser.page_token()
    # Without our timeout each attempt would wait the whole delay: 3 x 4 s at least.
    fake.inject_delay(TIMEOUT_SECONDS * 8, times=RETRIES + 1)

    started = time.monotonic()
    refused = browser.buy(token, {mug: 1})
    waited = time.monotonic() - started

    assert_refused_as_unavailable(refused)
    assert len(session_creates(fake)) == RETRIES + 1
    # Each attempt is cut at the timeout instead of the SDK's default of 80 seconds.
    assert waited < (RETRIES + 1) * TIMEOUT_SECONDS + MOST_BACKOFF_SECONDS + 3
    # Stripe still finishes what the first attempt asked for; Buy again gets that session.
    wait_until(lambda: fake.session_creations == 1, timeout=10, what="the slow session")
    assert_buy_again_opens_the_one_session(browser, refused, mug, fake)


# -- the database and the server process failing under a webhook ------------------------------


def paid_order(cluster: ShopCluster, server: AppServer) -> tuple[PlacedOrder, SignedEvent]:
    order = place_order(cluster, server)
    paid = cluster.fake.complete_session(order.session_id)
    return order, signed_event("checkout.session.completed", paid)


def assert_nothing_written(cluster: ShopCluster, order: PlacedOrder, event: SignedEvent) -> None:
    assert not cluster.event_recorded(event.id)
    assert cluster.order_status(order.reference) == "pending"
    assert cluster.timeline(order.reference) == ["placed"]
    assert cluster.emails(order.reference) == 0


def assert_settled_once(cluster: ShopCluster, order: PlacedOrder) -> None:
    assert cluster.order_status(order.reference) == "paid"
    assert cluster.transitions(order.reference) == 1
    assert cluster.payment_events(order.reference) == 1
    assert cluster.emails(order.reference) == 1
    assert cluster.timeline(order.reference) == ["placed", "payment_received", "email_sent"]


def blocked_webhook_backend(cluster: ShopCluster, lock_holder: int) -> tuple[int, str]:
    """(pid, application name) of the server backend waiting for the order lock we hold."""
    blocked = wait_until(
        lambda: cluster.database.backends_blocked_by(lock_holder),
        timeout=REQUEST_TIMEOUT,
        what="the webhook to wait for the order's row lock",
    )
    assert len(blocked) == 1, blocked
    return blocked[0]


ORDER_ROW = "SELECT id FROM shop_order WHERE reference = %s"


@pytest.mark.postgres
def test_webhook_whose_database_connection_dies_answers_500_and_stripes_retry_settles_it(
    cluster: ShopCluster,
) -> None:
    server = cluster.servers[0]
    order, completed = paid_order(cluster, server)

    with (
        cluster.database.rows_locked(ORDER_ROW, (order.reference,)) as holder,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        delivery = pool.submit(deliver, server, completed)
        backend, _ = blocked_webhook_backend(cluster, holder)
        # The event is recorded and the order about to move when the connection goes.
        cluster.database.terminate_backend(backend)
        response = delivery.result(timeout=REQUEST_TIMEOUT)

    assert response.status_code == 500
    assert_nothing_written(cluster, order, completed)
    # Stripe delivers the event again later; the same server has to be fine again too.
    assert deliver(server, completed).status_code == 200
    assert_settled_once(cluster, order)


@pytest.mark.postgres
def test_connections_cut_between_requests_are_replaced_and_redeliveries_settle_once(
    cluster: ShopCluster,
) -> None:
    server = cluster.servers[0]
    order, completed = paid_order(cluster, server)
    # Busy every thread, so each keeps a connection for its next request (CONN_MAX_AGE).
    together(16, lambda i: requests.get(f"{server.url}/healthz", timeout=REQUEST_TIMEOUT))
    kept = cluster.database.idle_backends(worker_application_names(server))
    assert kept

    # A failover or a restarted database: every connection the workers kept is gone.
    for backend in kept:
        cluster.database.terminate_backend(backend)
    responses = together(8, lambda i: deliver(server, completed).status_code)

    assert responses == [200] * 8
    assert_settled_once(cluster, order)


@pytest.mark.postgres
def test_worker_killed_mid_webhook_loses_and_doubles_nothing_once_stripe_retries(
    cluster: ShopCluster,
) -> None:
    server = cluster.servers[1]
    order, completed = paid_order(cluster, server)

    with (
        cluster.database.rows_locked(ORDER_ROW, (order.reference,)) as holder,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        delivery = pool.submit(deliver, server, completed)
        backend, application = blocked_webhook_backend(cluster, holder)
        worker = worker_pid_of(application)
        server.kill_worker(worker)
        with pytest.raises(requests.ConnectionError):
            delivery.result(timeout=REQUEST_TIMEOUT)

    # With the lock released the dead worker's backend gets the row, finds its client gone
    # and rolls back: its transaction could only ever commit on the client's word.
    wait_until(
        lambda: not cluster.database.backend_exists(backend),
        timeout=REQUEST_TIMEOUT,
        what="the killed worker's database session to end",
    )
    assert_nothing_written(cluster, order, completed)
    assert worker not in server.wait_for_workers()  # gunicorn replaced it
    # Stripe saw no answer and retries; whichever server gets it settles the order once.
    assert deliver(server, completed).status_code == 200
    assert deliver(cluster.servers[0], completed).status_code == 200
    assert_settled_once(cluster, order)
