"""payments_reconcile: pending orders whose webhook never came are settled from the gateway."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from shop import tasks
from shop.models import Order, OrderEvent, Source
from shop.payments import get_gateway
from shop.payments.base import CheckoutSession
from shop.services.reconciliation import ReconcileReport, payments_reconcile
from shop.services.shipments import order_ship
from tests.support.mail_backends import WorkerKilled
from tests.support.orders import (
    SHIP_TO,
    expiry_passed,
    local_expiry_passed,
    local_pay,
    order_make,
    stale_order,
    status_of,
)
from tests.support.orders import reconcile_actions as actions
from tests.support.stripe_fake import FakeStripe

KILLED_MID_SEND = "tests.support.mail_backends.KilledMidSendBackend"
TRACKING = "https://track.example.com/parcel/RM1"
# The fake Stripe sells from the seeded shop.
pytestmark = pytest.mark.usefixtures("shop")


@pytest.fixture
def reconcile(django_capture_on_commit_callbacks):
    """Run reconciliation and what it queues after commit, as a cron run would."""

    def run(**kwargs) -> ReconcileReport:
        with django_capture_on_commit_callbacks(execute=True):
            return payments_reconcile(**kwargs)

    return run


def api_calls(fake: FakeStripe) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in fake.requests]


# -- against the fake Stripe -----------------------------------------------------------


def test_paid_session_whose_webhook_never_came_is_fulfilled_with_one_email(fake, reconcile):
    order = stale_order("canvas-tote", 2)
    fake.complete_session(order.payment_session_id, customer_email="ada@example.com")

    report = reconcile()

    assert actions(report) == {order.reference: "paid"}
    assert report.ok
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.payment_id.startswith("pi_test_")
    assert order.customer_email == "ada@example.com"
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]


def test_session_expired_at_stripe_expires_the_order(fake, reconcile):
    order = stale_order()
    fake.expire(order.payment_session_id)

    report = reconcile()

    assert actions(report) == {order.reference: "expired"}
    assert status_of(order) == Order.Status.EXPIRED
    assert mail.outbox == []


def test_open_session_past_its_expiry_is_expired_at_stripe_then_the_order(fake, reconcile):
    order = stale_order()
    expiry_passed(fake, order.payment_session_id)

    report = reconcile()

    assert actions(report) == {order.reference: "expired"}
    assert status_of(order) == Order.Status.EXPIRED
    assert ("POST", f"/v1/checkout/sessions/{order.payment_session_id}/expire") in api_calls(fake)
    assert fake.sessions[order.payment_session_id]["status"] == "expired"


def test_payment_made_just_before_we_expire_the_session_wins(fake, reconcile):
    order = stale_order()
    expiry_passed(fake, order.payment_session_id)
    stripe = get_gateway()

    class ShopperPaysFirst:
        """The shopper completes payment between our look and our expire call."""

        def retrieve_session(self, session_id: str) -> CheckoutSession:
            return stripe.retrieve_session(session_id)

        def expire_session(self, session_id: str) -> CheckoutSession:
            fake.complete_session(session_id)
            return stripe.expire_session(session_id)

    report = reconcile(gateway=ShopperPaysFirst())

    assert actions(report) == {order.reference: "paid"}
    assert status_of(order) == Order.Status.PAID
    assert len(mail.outbox) == 1


def test_open_session_before_its_expiry_is_left_pending(fake, reconcile):
    order = stale_order()

    report = reconcile()

    assert actions(report) == {order.reference: "still open"}
    assert report.ok
    assert status_of(order) == Order.Status.PENDING
    assert ("POST", f"/v1/checkout/sessions/{order.payment_session_id}/expire") not in (
        api_calls(fake)
    )


def test_orders_younger_than_the_threshold_are_not_asked_about(fake, reconcile):
    order = stale_order()
    fake.complete_session(order.payment_session_id)
    fake.reset()

    report = reconcile(older_than=dt.timedelta(hours=1))

    assert report.outcomes == []
    assert fake.requests == []
    assert status_of(order) == Order.Status.PENDING


def test_running_twice_settles_once(fake, reconcile):
    paid, expired = stale_order(), stale_order()
    fake.complete_session(paid.payment_session_id)
    fake.expire(expired.payment_session_id)

    first = reconcile()
    second = reconcile()

    assert actions(first) == {paid.reference: "paid", expired.reference: "expired"}
    assert second.outcomes == []
    assert (status_of(paid), status_of(expired)) == (Order.Status.PAID, Order.Status.EXPIRED)
    assert len(mail.outbox) == 1


def test_stripe_down_changes_nothing_and_is_reported(fake, reconcile):
    orders = [stale_order(), stale_order()]
    fake.complete_session(orders[0].payment_session_id)
    fake.refuse_connections()

    report = reconcile()

    assert report.gateway_error
    assert not report.ok
    assert report.unchecked == 2
    assert report.outcomes == []
    assert [status_of(order) for order in orders] == [Order.Status.PENDING] * 2
    assert mail.outbox == []


def test_dry_run_asks_stripe_but_changes_nothing(fake, reconcile):
    paid, expired, overdue = stale_order(), stale_order(), stale_order()
    fake.complete_session(paid.payment_session_id)
    fake.expire(expired.payment_session_id)
    expiry_passed(fake, overdue.payment_session_id)

    report = reconcile(dry_run=True)

    assert actions(report) == {
        paid.reference: "paid",
        expired.reference: "expired",
        overdue.reference: "expired",
    }
    assert all("would" in outcome.detail for outcome in report.outcomes)
    assert {status_of(o) for o in (paid, expired, overdue)} == {Order.Status.PENDING}
    assert fake.sessions[overdue.payment_session_id]["status"] == "open"
    assert not any(path.endswith("/expire") for _, path in api_calls(fake))
    assert mail.outbox == []


def test_session_stripe_does_not_know_is_an_error_and_the_rest_are_settled(fake, reconcile):
    unknown = order_make(
        session_id="cs_test_not_at_stripe", created_at=timezone.now() - dt.timedelta(hours=1)
    )
    paid = stale_order()
    fake.complete_session(paid.payment_session_id)

    report = reconcile()

    assert actions(report) == {unknown.reference: "error", paid.reference: "paid"}
    assert not report.ok
    assert status_of(unknown) == Order.Status.PENDING


def test_payment_for_a_different_amount_is_not_marked_paid(fake, reconcile, shop_log):
    order = stale_order()
    fake.complete_session(order.payment_session_id, amount_total=1)

    report = reconcile()

    assert actions(report) == {order.reference: "error"}
    assert status_of(order) == Order.Status.PENDING
    assert f"order {order.reference} NOT marked paid" in shop_log.text


def test_each_change_is_written_once_from_reconciliation_and_logs_no_payload(
    fake, reconcile, shop_log
):
    paid, expired = stale_order(), stale_order()
    fake.complete_session(paid.payment_session_id, customer_email="ada@example.com")
    fake.expire(expired.payment_session_id)

    reconcile()

    changes = OrderEvent.objects.exclude(new_status="")
    assert sorted(changes.values_list("order", "old_status", "new_status", "origin")) == sorted(
        [
            (paid.pk, "pending", "paid", "reconciliation"),
            (expired.pk, "pending", "expired", "reconciliation"),
        ]
    )
    assert "sk_test_x" not in shop_log.text
    assert "customer_details" not in shop_log.text
    assert "ada@example.com" not in shop_log.text


def test_confirmation_that_never_went_out_is_sent_by_a_later_run(fake, reconcile):
    # Its send failed every retry earlier and gave the claim back.
    order = order_make(
        status=Order.Status.PAID,
        email="ada@example.com",
        paid_at=timezone.now() - dt.timedelta(hours=2),
    )

    first = reconcile()
    second = reconcile()

    assert first.confirmations_requeued == [order.reference]
    assert second.confirmations_requeued == []
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):
    """Move the clock forward, for everything that asks Django what time it is."""
    real_now = timezone.now

    def advance(by: dt.timedelta) -> None:
        monkeypatch.setattr(timezone, "now", lambda: real_now() + by)

    return advance


def test_confirmation_whose_sender_was_killed_mid_send_is_resent_once_its_lease_runs_out(
    fake, reconcile, clock
):
    order = order_make(
        status=Order.Status.PAID,
        email="ada@example.com",
        paid_at=timezone.now() - dt.timedelta(hours=2),
    )
    with override_settings(EMAIL_BACKEND=KILLED_MID_SEND), pytest.raises(WorkerKilled):
        tasks.order_confirmation_send.call(order.pk)
    order.refresh_from_db()
    assert order.confirmation_emailed_at is None  # nothing went out, so nothing is marked

    while_claimed = reconcile()
    clock(tasks.claim_lease() + dt.timedelta(seconds=1))
    after_the_lease = reconcile()
    again = reconcile()

    assert while_claimed.confirmations_requeued == []
    assert after_the_lease.confirmations_requeued == [order.reference]
    assert again.confirmations_requeued == []
    (message,) = mail.outbox
    assert message.to == ["ada@example.com"]
    assert message.message()["Message-ID"] == tasks.confirmation_message_id(order)
    order.refresh_from_db()
    assert order.confirmation_emailed_at is not None


def test_confirmation_being_sent_right_now_is_not_sent_again(fake, reconcile):
    order = order_make(
        status=Order.Status.PAID,
        email="ada@example.com",
        paid_at=timezone.now() - dt.timedelta(hours=2),
    )
    # Another worker holds a live claim: its send is in progress.
    Order.objects.filter(pk=order.pk).update(
        confirmation_claimed_until=timezone.now() + dt.timedelta(minutes=5)
    )

    report = reconcile()
    tasks.order_confirmation_send.call(order.pk)

    assert report.confirmations_requeued == []
    assert mail.outbox == []


def test_shipped_email_whose_sender_was_killed_mid_send_is_resent_once_its_lease_runs_out(
    fake, reconcile, clock
):
    order = order_make(status=Order.Status.PAID, email="ada@example.com", shipping=SHIP_TO)
    order_ship(order=order, carrier="Royal Mail", tracking_url=TRACKING, source=Source.system())
    # The shipment committed; the worker sending its e-mail dies half-way.
    with override_settings(EMAIL_BACKEND=KILLED_MID_SEND), pytest.raises(WorkerKilled):
        tasks.order_shipped_email_send.call(order.pk)
    Order.objects.filter(pk=order.pk).update(shipped_at=timezone.now() - dt.timedelta(hours=2))

    while_claimed = reconcile()
    clock(tasks.claim_lease() + dt.timedelta(seconds=1))
    after_the_lease = reconcile()
    again = reconcile()

    assert while_claimed.shipped_emails_requeued == []
    assert after_the_lease.shipped_emails_requeued == [order.reference]
    assert again.shipped_emails_requeued == []
    (message,) = mail.outbox
    assert TRACKING in message.body
    assert message.message()["Message-ID"] == tasks.shipped_message_id(order)
    order.refresh_from_db()
    assert order.shipped_emailed_at is not None
    assert order.timeline.filter(kind=OrderEvent.Kind.EMAIL_SENT).count() == 1


# -- the local gateway -----------------------------------------------------------------


def test_local_gateway_payment_without_its_event_is_fulfilled(shop, reconcile):
    order = stale_order()
    local_pay(order.payment_session_id)

    report = reconcile()

    assert actions(report) == {order.reference: "paid"}
    assert status_of(order) == Order.Status.PAID
    assert len(mail.outbox) == 1


def test_local_gateway_session_past_its_expiry_expires_the_order(shop, reconcile):
    order, fresh = stale_order(), stale_order()
    local_expiry_passed(order.payment_session_id)

    report = reconcile()

    assert actions(report) == {order.reference: "expired", fresh.reference: "still open"}
    assert status_of(order) == Order.Status.EXPIRED
