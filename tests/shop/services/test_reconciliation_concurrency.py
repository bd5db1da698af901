"""Two reconciliation runs at once, on PostgreSQL's real row locks.

Apart from test_reconciliation.py, whose tests share one shop built inside a module-wide
transaction: these commit for real, so each builds its own shop.
"""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import connection, transaction

from shop.models import Order
from shop.services import reconciliation
from shop.services.reconciliation import ReconcileReport, payments_reconcile
from tests.support.orders import local_pay, stale_order, status_of
from tests.support.orders import reconcile_actions as actions
from tests.support.shop import shop_build
from tests.support.stripe_settings import stripe_faked


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_runs_at_once_settle_each_order_once():
    shop_build()
    with stripe_faked() as fake:
        orders = [stale_order() for _ in range(8)]
        for order in orders[:6]:
            fake.complete_session(order.payment_session_id)
        for order in orders[6:]:
            fake.expire(order.payment_session_id)
        reports: list[ReconcileReport] = []
        barrier = threading.Barrier(2)

        def run() -> None:
            try:
                barrier.wait(timeout=30)
                reports.append(payments_reconcile())
            finally:
                connection.close()

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert len(reports) == 2
    assert all(report.ok for report in reports)
    assert [status_of(o) for o in orders] == [Order.Status.PAID] * 6 + [Order.Status.EXPIRED] * 2
    assert len(mail.outbox) == 6
    assert sorted(m.to[0] for m in mail.outbox) == ["buyer@example.com"] * 6


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_order_another_process_is_settling_is_skipped_not_waited_for():
    shop_build()
    order = stale_order()
    local_pay(order.payment_session_id)
    locked, release = threading.Event(), threading.Event()

    def webhook_in_progress() -> None:
        try:
            with transaction.atomic():
                Order.objects.select_for_update().get(pk=order.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=webhook_in_progress)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        report = payments_reconcile()
    finally:
        release.set()
        holder.join(timeout=30)

    assert actions(report) == {order.reference: reconciliation.SKIPPED}
    assert status_of(order) == Order.Status.PENDING
    assert actions(payments_reconcile()) == {order.reference: "paid"}
