"""Order builders: orders in the state a test needs, and stale ones for reconciliation.

Orders come from the real services (cart → order_place → checkout_session_open) wherever
the test is about what those produce, and straight from the models when a test needs an
order in a particular state at a particular time.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Mapping, Sequence

from django.db.models import F
from django.utils import timezone

from shop.cart import cart_build
from shop.models import LocalCheckoutSession, Order, OrderEvent, OrderLine, Product, Source
from shop.payments.base import CheckoutSession, ShippingAddress
from shop.payments.local import LocalGateway, session_payload
from shop.services.checkout import CheckoutUrls, checkout_session_open, order_place
from shop.shipping import ShippingOffer
from shop.shoppers import Shopper
from tests.support.stripe_fake import FakeStripe

URLS = CheckoutUrls(
    success_url="http://testserver/checkout/success/?session_id={CHECKOUT_SESSION_ID}",
    cancel_url_base="http://testserver/checkout/cancel/",
    origin="http://testserver",
)
# Older than the reconciliation threshold (30 minutes by default).
STALE = dt.timedelta(minutes=45)
# Where an order ships, as checkout snapshots it on the order: pass as ``shipping=``.
SHIP_TO: Mapping[str, object] = {
    "shipping_name": "Ada Lovelace",
    "shipping_phone": "+44 20 7946 0000",
    "shipping_line1": "12 Marylebone Road",
    "shipping_line2": "Flat 3",
    "shipping_city": "London",
    "shipping_postal_code": "NW1 5LR",
    "shipping_region": "Greater London",
    "shipping_country": "GB",
    "shipping_rate_name": "Standard",
    "shipping_min_days": 3,
    "shipping_max_days": 5,
}


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
    shipping: Mapping[str, object] | None = None,
    amount_shipping: int = 0,
) -> Order:
    """An order written straight to the database in exactly the state a test needs.

    ``lines`` are (snapshot name, unit amount, quantity); the total is their sum plus
    ``amount_shipping``. ``shipping``: the address snapshot's fields (e.g. ``SHIP_TO``).
    """
    created_at = created_at or timezone.now()
    if status in (Order.Status.PAID, Order.Status.REFUNDED) and paid_at is None:
        paid_at = created_at
    extra = {"reference": reference} if reference else {}
    subtotal = sum(unit * qty for _, unit, qty in lines)
    order = Order.objects.create(
        status=status,
        currency=currency,
        amount_subtotal=subtotal,
        amount_shipping=amount_shipping,
        amount_total=subtotal + amount_shipping,
        checkout_token=uuid.uuid4(),
        payment_session_id=session_id,
        payment_id=payment_id,
        customer_email=email,
        created_at=created_at,
        paid_at=paid_at,
        **(shipping or {}),
        **extra,
    )
    OrderLine.objects.bulk_create(
        OrderLine(order=order, product_name=name, unit_amount=unit, currency=currency, quantity=qty)
        for name, unit, qty in lines
    )
    return order


def order_create(
    *,
    user=None,
    guest_token: str = "",
    status: str = Order.Status.PAID,
    lines: list[tuple[Product, int]] | None = None,
    returned: bool = True,
    email: str = "",
    shipping: Mapping[str, object] | None = None,
) -> Order:
    """An order as the purchase loop leaves it, with lines snapshotted from the products
    (and, with ``shipping``, its address snapshot, e.g. ``SHIP_TO``)."""
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
        **(shipping or {}),
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
            old_status=Order.Status.PENDING,
            new_status=Order.Status.PAID,
        )
    return order


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


def status_of(order: Order) -> str:
    """The order's status as the database has it now."""
    order.refresh_from_db()
    return order.status


def reconcile_actions(report) -> dict[str, str]:
    """What a reconciliation run did, by order reference."""
    return {outcome.reference: outcome.action for outcome in report.outcomes}


# Where the shared builders ship paid orders: a US address and the first offered rate.
ADDRESS = ShippingAddress(
    name="Ada Lovelace",
    line1="12 Analytical Row",
    line2="",
    city="Springfield",
    postal_code="62701",
    region="IL",
    country="US",
)


def local_pay(session_id: str, *, email: str = "ada@example.com", option: int = 0):
    """Pay a local-gateway session as its page would: with the address and a rate when it
    ships (orders from before shipping have none to choose)."""
    row = LocalCheckoutSession.objects.get(pk=session_id)
    ships = bool((row.shipping or {}).get("options"))
    return LocalGateway().pay(
        session_id,
        email=email,
        address=ADDRESS if ships else None,
        option=option if ships else None,
    )


def order_paid_at_gateway(quantities: dict[str, int]) -> tuple[Order, dict]:
    """An order placed through checkout and paid on the local gateway's page (no event yet)."""
    order, session = order_checkout(
        {Product.objects.get(slug=slug): qty for slug, qty in quantities.items()}
    )
    paid = session_payload(local_pay(session.id))
    return order, paid


def session_reported(order: Order, *, paid: bool, payment_id: str | None = None) -> CheckoutSession:
    """The order's session as the gateway would report it: complete and paid, or expired.

    Paid for an order that ships: with its first offered rate, to :data:`ADDRESS`.
    """
    offer = ShippingOffer.from_snapshot(order.shipping_offered)
    if paid and offer.options:
        shipping = offer.options[0].amount
        return CheckoutSession(
            id=order.payment_session_id,
            url=None,
            status="complete",
            payment_status="paid",
            amount_total=order.amount_subtotal + shipping,
            currency=order.currency,
            client_reference_id=order.reference,
            payment_id=payment_id or f"pi_{order.reference}",
            customer_email="ada@example.com",
            amount_subtotal=order.amount_subtotal,
            amount_shipping=shipping,
            shipping_option_index=0,
            shipping_address=ADDRESS,
        )
    return CheckoutSession(
        id=order.payment_session_id,
        url=None,
        status="complete" if paid else "expired",
        payment_status="paid" if paid else "unpaid",
        amount_total=order.amount_total,
        currency=order.currency,
        client_reference_id=order.reference,
        payment_id=payment_id or f"pi_{order.reference}",
        customer_email="ada@example.com",
    )
