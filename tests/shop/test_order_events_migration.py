"""Migration 0008 keeps every order and gives existing ones the timeline entries we know."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

BEFORE = [("shop", "0007_a_payment_event_kind")]
AFTER = [("shop", "0008_b_order_events")]

# serialized_rollback: the next transactional test starts from the migrated data again.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_existing_orders_keep_their_rows_and_get_placed_and_paid_entries(executor) -> None:
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    placed_at = timezone.now() - dt.timedelta(days=2)
    paid_at = placed_at + dt.timedelta(minutes=3)
    returned_at = placed_at + dt.timedelta(minutes=2)
    Order = old.get_model("shop", "Order")
    paid = Order.objects.create(
        checkout_token=uuid.uuid4(),
        currency="usd",
        amount_total=1800,
        status="paid",
        created_at=placed_at,
        paid_at=paid_at,
        returned_at=returned_at,
    )
    pending = Order.objects.create(
        checkout_token=uuid.uuid4(), currency="usd", amount_total=900, created_at=placed_at
    )

    executor.loader.build_graph()
    executor.migrate(AFTER)

    new = executor.loader.project_state(AFTER).apps
    orders = new.get_model("shop", "Order").objects
    assert orders.get(pk=paid.pk).awaiting_confirmation_since == returned_at
    assert orders.get(pk=pending.pk).awaiting_confirmation_since is None
    events = new.get_model("shop", "OrderEvent").objects
    assert sorted(events.values_list("order", "kind", "new_status", "created_at")) == [
        (paid.pk, "payment_received", "paid", paid_at),
        (paid.pk, "placed", "", placed_at),
        (pending.pk, "placed", "", placed_at),
    ]
