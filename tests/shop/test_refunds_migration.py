"""Migration 0013 keeps every order, payment event and stock line: nothing refunded yet,
nothing returned to stock, and a refunded order's earlier full-refund event still reads."""

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("shop", "0015_d_disputes")]
AFTER = [("shop", "0016_c_refunds")]

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_existing_orders_lines_and_events_are_kept_with_nothing_refunded() -> None:
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(BEFORE)
        old = executor.loader.project_state(BEFORE).apps
        order = old.get_model("shop", "Order").objects.create(
            checkout_token=uuid.uuid4(), currency="usd", amount_total=4250, status="refunded"
        )
        line = old.get_model("shop", "OrderLine").objects.create(
            order=order,
            product_name="Mug",
            unit_amount=4250,
            currency="usd",
            quantity=1,
            held_quantity=1,
        )
        event = old.get_model("shop", "PaymentEvent").objects.create(
            provider_event_id="evt_old",
            type="charge.refunded",
            kind="refund_updated",
            payment_id="pi_old",
            full_refund=True,
            order=order,
            payload={},
        )

        executor.loader.build_graph()
        executor.migrate(AFTER)

        new = executor.loader.project_state(AFTER).apps
        migrated = new.get_model("shop", "Order").objects.get(pk=order.pk)
        assert (migrated.status, migrated.amount_total, migrated.amount_refunded) == (
            "refunded",
            4250,
            0,
        )
        assert new.get_model("shop", "OrderLine").objects.get(pk=line.pk).returned_quantity == 0
        kept = new.get_model("shop", "PaymentEvent").objects.get(pk=event.pk)
        assert (kept.full_refund, kept.amount_refunded) == (True, None)
        assert new.get_model("shop", "Refund").objects.count() == 0
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
