"""Small builders for test data that is not the subject of the test."""

import io
import uuid

from django.core.management import call_command
from django.utils import timezone

from shop.models import Order, OrderEvent, OrderLine, Product, ShopPage, Source
from shop.services.catalogue import product_create


def order_create(
    *,
    user=None,
    guest_token: str = "",
    status: str = Order.Status.PAID,
    lines: list[tuple[Product, int]] | None = None,
    returned: bool = True,
    email: str = "",
) -> Order:
    """An order as the purchase loop leaves it, with lines snapshotted from the products."""
    lines = lines or [(Product.objects.for_sale().first(), 1)]
    order = Order.objects.create(
        checkout_token=uuid.uuid4(),
        currency=lines[0][0].currency,
        amount_total=sum(product.unit_amount * qty for product, qty in lines),
        user=user,
        guest_token="" if user else guest_token,
        status=status,
        payment_session_id=f"cs_test_{uuid.uuid4().hex}",
        awaiting_confirmation_since=timezone.now() if returned else None,
        paid_at=timezone.now() if status == Order.Status.PAID else None,
        customer_email=email,
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=product,
            product_name=product.name,
            unit_amount=product.unit_amount,
            currency=product.currency,
            quantity=qty,
        )
        for product, qty in lines
    )
    OrderEvent.objects.record(order, OrderEvent.Kind.PLACED, Source.checkout())
    if order.paid_at:
        OrderEvent.objects.record(
            order,
            OrderEvent.Kind.PAYMENT_RECEIVED,
            Source.system(),
            old_status="pending",
            new_status=Order.Status.PAID,
        )
    return order


# The seed command's catalogue: (slug, name, price in cents).
SEED_PRODUCTS = [
    ("stoneware-mug", "Stoneware Mug", 1800),
    ("canvas-tote", "Canvas Tote", 2450),
    ("dot-grid-notebook", "Dot-Grid Notebook", 1275),
]


def shop_build() -> ShopPage:
    """The seed command's shop without product pictures.

    Generating and resizing the pictures costs most of a second per test; the seed command
    keeps products it finds by slug, so it still makes the page, the site root and the group.
    """
    for position, (slug, name, amount) in enumerate(SEED_PRODUCTS):
        product_create(
            name=name,
            slug=slug,
            description="",
            unit_amount=amount,
            currency="usd",
            sort_order=position * 10,
        )
    call_command("seed_shop", stdout=io.StringIO())
    return ShopPage.objects.get()
