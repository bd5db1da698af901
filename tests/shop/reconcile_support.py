"""Shared by the reconciliation service and command tests: the fake Stripe, wired in."""

from __future__ import annotations

import datetime as dt
import time

from django.db.models import F

from shop.models import LocalCheckoutSession, Order, Product
from tests.fakes.stripe_server import FakeStripe
from tests.shop.orders_support import order_checkout

# Older than the reconciliation threshold (30 minutes by default).
STALE = dt.timedelta(minutes=45)


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
