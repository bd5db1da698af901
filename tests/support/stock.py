"""Stock builders: units of a product held by an open checkout, or sold."""

from __future__ import annotations

import datetime as dt
import uuid

from django.utils import timezone

from shop.models import Order, OrderLine, Product
from shop.shop_state import shop_state_changed


def stock_line_make(
    product: Product,
    quantity: int,
    *,
    sold: bool = False,
    oversold: bool = False,
    held_for: dt.timedelta = dt.timedelta(minutes=30),
) -> OrderLine:
    """An order line holding ``quantity`` units of ``product`` for ``held_for``, or sold;
    the shop's cards are told, as the checkout that holds units tells them."""
    now = timezone.now()
    shop_state_changed()
    order = Order.objects.create(
        status=Order.Status.PAID if sold else Order.Status.PENDING,
        checkout_token=uuid.uuid4(),
        currency=product.currency,
        amount_total=product.unit_amount * quantity,
        paid_at=now if sold else None,
        oversold=oversold,
    )
    return OrderLine.objects.create(
        order=order,
        product=product,
        product_name=product.name,
        unit_amount=product.unit_amount,
        currency=product.currency,
        quantity=quantity,
        held_quantity=quantity,
        held_until=now + held_for,
        sold_at=now if sold else None,
    )
