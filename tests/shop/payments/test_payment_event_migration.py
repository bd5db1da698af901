"""Migration 0007 keeps every stored event and fills our kind, payment id and full refund."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("shop", "0006_provider_neutral_names")]
AFTER = [("shop", "0007_a_payment_event_kind")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


# serialized_rollback: the next transactional test starts from the migrated data again.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_stored_events_keep_their_rows_and_gain_kind_payment_and_full_refund() -> None:
    apps = _migrate(BEFORE)
    try:
        PaymentEvent = apps.get_model("shop", "PaymentEvent")
        rows = {
            "evt_paid": ("checkout.session.completed", {"payment_intent": "pi_1"}),
            "evt_refund": ("charge.refunded", {"payment_intent": "pi_1", "refunded": True}),
            "evt_part": ("charge.refunded", {"payment_intent": {"id": "pi_2"}, "refunded": False}),
            "evt_other": ("customer.created", {"payment_intent": "pi_3"}),
        }
        for event_id, (event_type, obj) in rows.items():
            PaymentEvent.objects.create(
                provider_event_id=event_id,
                type=event_type,
                payload={"id": event_id, "type": event_type, "data": {"object": obj}},
            )

        PaymentEvent = _migrate(AFTER).get_model("shop", "PaymentEvent")

        filled = {
            e.provider_event_id: (e.type, e.kind, e.payment_id, e.full_refund)
            for e in PaymentEvent.objects.all()
        }
        assert filled == {
            "evt_paid": ("checkout.session.completed", "session_completed", "pi_1", False),
            "evt_refund": ("charge.refunded", "refund_updated", "pi_1", True),
            "evt_part": ("charge.refunded", "refund_updated", "pi_2", False),
            "evt_other": ("customer.created", "unhandled", "", False),
        }
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
