"""python manage.py create_orders: many orders and payment events, fast, for the benchmark.

Like bakerydemo's ``create_random_data``: rows go in with ``bulk_create`` in batches, never
through HTTP, shaped as the purchase loop leaves them (1–3 snapshotted lines of products
for sale, mostly paid, spread over a year)::

    manage.py create_orders --orders 100000 --events 1000000
    manage.py create_orders --shopper-orders 500 --shopper-email shopper@example.com
    manage.py create_orders --pending 2000   # waiting for payment, sessions open

Other shoppers' orders belong to guests. Events record completed payment sessions of the
paid orders just made, cycling over them when there are more events than orders.
Run ``seed_shop`` first.
"""

import datetime as dt
import random
import uuid

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from shop.models import Order, OrderLine, PaymentEvent, Product
from shop.models.orders import REFERENCE_ALPHABET, REFERENCE_LENGTH, reference_format
from shop.payments.events import EventKind

BATCH = 5_000
HISTORY = dt.timedelta(days=365)
STATUSES = [Order.Status.PAID] * 17 + [Order.Status.REFUNDED, Order.Status.FAILED]


def reference(index: int) -> str:
    """A distinct reference per index: an odd multiplier permutes 0..32**8-1."""
    value = (index * 0x9E3779B1) % (len(REFERENCE_ALPHABET) ** REFERENCE_LENGTH)
    chars = []
    for _ in range(REFERENCE_LENGTH):
        value, digit = divmod(value, len(REFERENCE_ALPHABET))
        chars.append(REFERENCE_ALPHABET[digit])
    return reference_format("".join(chars))


class Command(BaseCommand):
    help = "Create many orders (with lines) and payment events in batches, for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=0, help="other shoppers' orders")
        parser.add_argument("--events", type=int, default=0, help="payment events")
        parser.add_argument("--shopper-orders", type=int, default=0)
        parser.add_argument("--shopper-email", default="shopper@example.com")
        parser.add_argument("--pending", type=int, default=0, help="orders awaiting payment")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **options):
        self.products = list(Product.objects.for_sale())
        if not self.products:
            raise CommandError("No products for sale: run seed_shop first.")
        self.rng = random.Random(options["seed"])  # noqa: S311  (test data, not secrets)
        self.now = timezone.now()
        self.index = (Order.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
        shopper = None
        if options["shopper_orders"]:
            email = options["shopper_email"].lower()
            shopper, _ = get_user_model().objects.get_or_create(
                username=email, defaults={"email": email}
            )
        paid = self.orders(options["shopper_orders"], user=shopper)
        paid += self.orders(options["orders"])
        self.orders(options["pending"], status=Order.Status.PENDING)
        self.events(options["events"], paid)
        total = options["shopper_orders"] + options["orders"] + options["pending"]
        self.stdout.write(
            f"created {total:,} orders ({options['pending']:,} pending) "
            f"and {options['events']:,} payment events"
        )

    def order(self, *, user, status) -> tuple[Order, list[OrderLine]]:
        rng, index = self.rng, self.index
        self.index += 1
        status = status or rng.choice(STATUSES)
        pending = status == Order.Status.PENDING
        created = self.now - (dt.timedelta(minutes=1) if pending else HISTORY * rng.random())
        chosen = rng.sample(self.products, rng.randint(1, min(3, len(self.products))))
        lines = [
            OrderLine(
                product=p,
                product_name=p.name,
                unit_amount=p.unit_amount,
                currency=p.currency,
                quantity=rng.randint(1, 3),
            )
            for p in chosen
        ]
        subtotal = sum(line.unit_amount * line.quantity for line in lines)
        settled = None if pending else created + dt.timedelta(minutes=2)
        paid = status in Order.PAID_STATUSES
        order = Order(
            reference=reference(index),
            status=status,
            currency=chosen[0].currency,
            amount_subtotal=subtotal,
            amount_total=subtotal,
            amount_refunded=subtotal if status == Order.Status.REFUNDED else 0,
            checkout_token=uuid.uuid4(),
            payment_session_id=f"sess_gen_{index:09d}_{rng.getrandbits(40):010x}",
            session_expires_at=created + dt.timedelta(minutes=31),
            payment_id=f"pay_gen_{index:09d}" if paid else "",
            customer_email=f"buyer{index}@example.com" if paid else "",
            user=user,
            guest_token="" if user else f"guest-{rng.randrange(5_000):05d}",
            awaiting_confirmation_since=settled,
            confirmation_emailed_at=settled if paid else None,
            created_at=created,
            paid_at=settled if paid else None,
        )
        return order, lines

    def orders(self, count: int, *, user=None, status=None) -> list[tuple[int, str, dt.datetime]]:
        """Create ``count`` orders; (pk, payment id, paid at) of those paid."""
        paid = []
        for start in range(0, count, BATCH):
            batch = [self.order(user=user, status=status) for _ in range(min(BATCH, count - start))]
            with transaction.atomic():
                Order.objects.bulk_create([order for order, _ in batch])
                for order, lines in batch:
                    for line in lines:
                        line.order = order
                OrderLine.objects.bulk_create([line for _, lines in batch for line in lines])
            paid += [(o.pk, o.payment_id, o.paid_at) for o, _ in batch if o.paid_at]
        return paid

    def events(self, count: int, paid: list[tuple[int, str, dt.datetime]]) -> None:
        if count and not paid:
            raise CommandError("Events belong to paid orders: create some with --orders.")
        first = (PaymentEvent.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
        for start in range(0, count, BATCH):
            PaymentEvent.objects.bulk_create(
                PaymentEvent(
                    provider_event_id=f"evt_gen_{first + i:010d}",
                    type=EventKind.SESSION_COMPLETED.value,  # not the provider's name
                    kind=EventKind.SESSION_COMPLETED,
                    payment_id=payment_id,
                    order_id=order_id,
                    payload={"id": f"evt_gen_{first + i:010d}", "object": "event"},
                    received_at=paid_at,
                )
                for i in range(start, min(count, start + BATCH))
                for order_id, payment_id, paid_at in [paid[i % len(paid)]]
            )
