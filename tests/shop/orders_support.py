"""Orders for the admin, e-mail and reconciliation tests.

Orders come from the real services (cart → order_place → checkout_session_open) wherever
the test is about what those produce, and straight from the models when a test needs an
order in a particular state at a particular time.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence

from django.utils import timezone

from shop.cart import cart_build
from shop.models import Order, OrderLine, Product
from shop.payments.base import CheckoutSession
from shop.services.checkout import CheckoutUrls, checkout_session_open, order_place
from shop.shoppers import Shopper

URLS = CheckoutUrls(
    success_url="http://testserver/checkout/success/?session_id={CHECKOUT_SESSION_ID}",
    cancel_url_base="http://testserver/checkout/cancel/",
    origin="http://testserver",
)


def order_checkout(
    quantities: Mapping[Product, int], *, email: str | None = None
) -> tuple[Order, CheckoutSession]:
    """A guest presses Buy: a pending order with an open session at the configured gateway."""
    cart = cart_build(
        checkout_token=uuid.uuid4(),
        fields={f"qty_{product.pk}": str(qty) for product, qty in quantities.items()},
        max_quantity=10,
    )
    shopper = Shopper(user_id=None, guest_token=uuid.uuid4().hex, email=email)
    order = order_place(cart=cart, shopper=shopper)
    session = checkout_session_open(order=order, urls=URLS)
    order.refresh_from_db()
    return order, session


def order_make(
    *,
    status: str = Order.Status.PENDING,
    lines: Sequence[tuple[str, int, int]] = (("Stoneware Mug", 1800, 1),),
    currency: str = "usd",
    email: str = "",
    created_at: dt.datetime | None = None,
    paid_at: dt.datetime | None = None,
    session_id: str | None = None,
    payment_id: str = "",
    reference: str | None = None,
) -> Order:
    """An order written straight to the database in exactly the state a test needs.

    ``lines`` are (snapshot name, unit amount, quantity); the total is their sum.
    """
    created_at = created_at or timezone.now()
    if status in (Order.Status.PAID, Order.Status.REFUNDED) and paid_at is None:
        paid_at = created_at
    extra = {"reference": reference} if reference else {}
    order = Order.objects.create(
        status=status,
        currency=currency,
        amount_total=sum(unit * qty for _, unit, qty in lines),
        checkout_token=uuid.uuid4(),
        payment_session_id=session_id,
        payment_id=payment_id,
        customer_email=email,
        created_at=created_at,
        paid_at=paid_at,
        **extra,
    )
    OrderLine.objects.bulk_create(
        OrderLine(order=order, product_name=name, unit_amount=unit, currency=currency, quantity=qty)
        for name, unit, qty in lines
    )
    return order
