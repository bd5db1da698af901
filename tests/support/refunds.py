"""Refund builders: an order paid through the fake Stripe, and Stripe's refund events."""

from __future__ import annotations

from collections.abc import Mapping

from django.test import TestCase

from shop.models import Order, Product
from tests.support.events import deliver
from tests.support.orders import order_checkout
from tests.support.shopper import Browser
from tests.support.stripe_fake import FakeStripe


def order_paid_at_fake(
    fake: FakeStripe, quantities: Mapping[Product, int], *, email: str = "ada@example.com"
) -> Order:
    """A guest's order placed through checkout, paid at the fake Stripe, and confirmed by
    its signed ``checkout.session.completed`` through the real webhook."""
    order, session = order_checkout(quantities, email=email)
    paid = fake.complete_session(session.id, customer_email=email)
    delivered(fake.event("checkout.session.completed", paid))
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def delivered(*events: Mapping) -> None:
    """Each event signed and POSTed to the webhook as Stripe does, its on-commit work run."""
    for payload in events:
        with TestCase.captureOnCommitCallbacks(execute=True):
            response = deliver(Browser(), payload)
        assert response.status_code == 200, response.content
