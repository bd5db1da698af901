"""Shared by the reconciliation service and command tests: the fake Stripe, wired in."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db.models import F
from django.test import override_settings

from shop.models import LocalCheckoutSession, Order, Product
from tests.fakes.stripe_server import FakeStripe
from tests.shop.orders_support import order_checkout

# Older than the reconciliation threshold (30 minutes by default).
STALE = dt.timedelta(minutes=45)


@contextmanager
def stripe_faked() -> Iterator[FakeStripe]:
    """A fake Stripe API running, with the shop's settings pointing at it."""
    with (
        FakeStripe() as fake,
        override_settings(
            PAYMENT_GATEWAY="stripe",
            STRIPE_SECRET_KEY="sk_test_x",
            STRIPE_WEBHOOK_SECRET="whsec_x",
            STRIPE_API_BASE=fake.url,
            STRIPE_MAX_NETWORK_RETRIES=0,
            STRIPE_TIMEOUT_SECONDS=1,
        ),
    ):
        yield fake


def stale_order(slug: str = "stoneware-mug", quantity: int = 1) -> Order:
    """A guest's order with an open session at the configured gateway, begun 45 minutes ago."""
    order, _ = order_checkout({Product.objects.get(slug=slug): quantity})
    Order.objects.filter(pk=order.pk).update(created_at=F("created_at") - STALE)
    order.refresh_from_db()
    return order


def expiry_passed(fake: FakeStripe, session_id: str) -> None:
    """The session's expiry time is behind us but Stripe has not expired it yet."""
    fake.sessions[session_id]["expires_at"] = int(time.time()) - 60


def local_expiry_passed(session_id: str) -> None:
    LocalCheckoutSession.objects.filter(pk=session_id).update(
        expires_at=F("expires_at") - dt.timedelta(hours=2)
    )
