"""Migration 0011 keeps every order, and what an order paid before shipping is its subtotal."""

import uuid

import pytest

BEFORE = [("shop", "0010_stock_units_index")]
AFTER = [("shop", "0011_order_shipping_snapshot")]

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_existing_orders_keep_their_total_as_subtotal_and_ship_nothing(executor) -> None:
    executor.migrate(BEFORE)
    Order = executor.loader.project_state(BEFORE).apps.get_model("shop", "Order")
    paid = Order.objects.create(
        checkout_token=uuid.uuid4(), currency="usd", amount_total=4250, status="paid"
    )

    executor.loader.build_graph()
    executor.migrate(AFTER)

    orders = executor.loader.project_state(AFTER).apps.get_model("shop", "Order").objects
    migrated = orders.get(pk=paid.pk)
    assert (migrated.amount_subtotal, migrated.amount_shipping, migrated.amount_total) == (
        4250,
        0,
        4250,
    )
    assert migrated.shipping_country == "" and migrated.shipping_rate_name == ""
