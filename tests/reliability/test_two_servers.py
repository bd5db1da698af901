"""Two real servers, one database: what Stripe and shoppers do at once is still done once.

Stripe may deliver one event to every server behind the load balancer at the same moment,
a shopper's double click may land on two servers, and the shopper's return to the success
page races the webhook. Requests are released together by a barrier from threads in this
process; the counts come from the shared database (orders, their timelines, payment events)
and the e-mail files.
"""

import pytest
import requests

from tests.reliability.cluster import (
    PlacedOrder,
    RemoteShopper,
    ShopCluster,
    SignedEvent,
    deliver,
    place_order,
    signed_event,
)
from tests.support.servers import AppServer
from tests.support.threads import together

pytestmark = pytest.mark.postgres

DELIVERIES = 100
BUYS = 50


def test_one_event_delivered_100_times_across_two_servers_pays_once_and_emails_once(
    cluster: ShopCluster,
) -> None:
    order = place_order(cluster, cluster.servers[0])
    paid = cluster.fake.complete_session(order.session_id)
    completed = signed_event("checkout.session.completed", paid)

    responses = together(
        DELIVERIES, lambda i: deliver(cluster.servers[i % 2], completed).status_code
    )

    assert responses == [200] * DELIVERIES
    assert cluster.order_status(order.reference) == "paid"
    assert cluster.transitions(order.reference) == 1
    assert cluster.payment_events(order.reference) == 1
    assert cluster.event_recorded(completed.id)
    # The e-mail is sent on commit, before the response: every response is in, so is it.
    assert cluster.emails(order.reference) == 1


def test_50_buys_with_one_token_across_two_servers_make_one_order_and_one_session(
    cluster: ShopCluster,
) -> None:
    # One shopper's page (its session and CSRF cookies) pressing Buy 50 times, half of the
    # presses reaching each server.
    shopper = RemoteShopper()
    form = shopper.open_shop(cluster.servers[0]).filled(2, 1)
    token = form["checkout_token"]
    creations_before = cluster.fake.session_creations

    responses = together(BUYS, lambda i: shopper.buy(cluster.servers[i % 2], form))

    statuses = [r.status_code for r in responses]
    assert statuses == [303] * BUYS, statuses
    assert len({r.headers["Location"] for r in responses}) == 1
    assert cluster.fake.session_creations - creations_before == 1
    sessions = [
        s["id"] for s in cluster.fake.sessions.values() if s["metadata"]["checkout_token"] == token
    ]
    assert len(sessions) == 1
    orders = cluster.database.query(
        "SELECT payment_session_id FROM shop_order WHERE checkout_token = %s", (token,)
    )
    assert orders == [(sessions[0],)]


def race_webhook_and_success_page(
    order: PlacedOrder, completed: SignedEvent, *, webhook_at: AppServer, success_at: AppServer
) -> tuple[requests.Response, requests.Response]:
    """Stripe's webhook on one server and the shopper's return on another, at one moment."""

    def one(index: int) -> requests.Response:
        if index == 0:
            return deliver(webhook_at, completed)
        return order.shopper.visit(success_at, f"/checkout/success/?session_id={order.session_id}")

    webhook, success = together(2, one)
    return webhook, success


def test_success_page_on_one_server_racing_the_webhook_on_the_other_pays_once(
    cluster: ShopCluster,
) -> None:
    # A few rounds with the servers swapped, so either side can win the race.
    for round_number in range(4):
        webhook_at = cluster.servers[round_number % 2]
        success_at = cluster.servers[(round_number + 1) % 2]
        order = place_order(cluster, success_at)
        completed = signed_event(
            "checkout.session.completed", cluster.fake.complete_session(order.session_id)
        )

        webhook, success = race_webhook_and_success_page(
            order, completed, webhook_at=webhook_at, success_at=success_at
        )

        assert webhook.status_code == 200
        assert (success.status_code, success.headers["Location"]) == (302, "/")
        assert cluster.order_status(order.reference) == "paid"
        assert cluster.transitions(order.reference) == 1
        assert cluster.emails(order.reference) == 1
