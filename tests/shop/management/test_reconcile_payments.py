"""manage.py reconcile_payments: what an operator (or cron) sees, and its exit status."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from shop.models import GuestClaim, Order
from shop.shoppers import GUEST_COOKIE_MAX_AGE
from tests.support.orders import expiry_passed, local_pay, order_make, stale_order, status_of

# The fake Stripe sells from the seeded shop.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("shop")]


@pytest.fixture
def reconcile_payments(django_capture_on_commit_callbacks):
    """``manage.py reconcile_payments <args>``; returns what it printed."""

    def run(*args: str) -> str:
        out = io.StringIO()
        with django_capture_on_commit_callbacks(execute=True):
            call_command("reconcile_payments", *args, stdout=out, stderr=io.StringIO())
        return out.getvalue()

    return run


def test_settles_a_paid_session_whose_webhook_never_came(fake, reconcile_payments):
    order = stale_order()
    fake.complete_session(order.payment_session_id, customer_email="ada@example.com")

    output = reconcile_payments()

    lines = output.splitlines()
    assert lines[0].startswith(f"{order.reference}  paid")
    assert "paid at the gateway" in lines[0]
    assert order.payment_session_id in lines[0]
    assert lines[-1] == "Checked 1 pending order(s) older than 30 minutes: 1 paid."
    assert status_of(order) == Order.Status.PAID
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]


def test_expires_stale_open_and_expired_sessions(fake, reconcile_payments):
    overdue, expired, fresh = stale_order(), stale_order(), stale_order()
    expiry_passed(fake, overdue.payment_session_id)
    fake.expire(expired.payment_session_id)

    output = reconcile_payments()

    assert [status_of(o) for o in (overdue, expired, fresh)] == [
        Order.Status.EXPIRED,
        Order.Status.EXPIRED,
        Order.Status.PENDING,
    ]
    assert len(output.splitlines()) == 4
    assert output.splitlines()[-1] == (
        "Checked 3 pending order(s) older than 30 minutes: 2 expired, 1 still open."
    )
    assert fake.sessions[overdue.payment_session_id]["status"] == "expired"


def test_running_twice_changes_nothing_the_second_time(fake, reconcile_payments):
    paid, expired = stale_order(), stale_order()
    fake.complete_session(paid.payment_session_id)
    fake.expire(expired.payment_session_id)
    reconcile_payments()
    settled_at = {o.pk: o.updated_at for o in Order.objects.all()}

    output = reconcile_payments()

    assert output.strip() == "Checked 0 pending order(s) older than 30 minutes: nothing to do."
    assert {o.pk: o.updated_at for o in Order.objects.all()} == settled_at
    assert len(mail.outbox) == 1


def test_stripe_down_exits_non_zero_and_changes_nothing(fake):
    orders = [stale_order(), stale_order()]
    fake.complete_session(orders[0].payment_session_id)
    fake.refuse_connections()
    err = io.StringIO()

    # manage.py turns a CommandError into its exit status (run_from_argv would also close
    # the test's database connection, so the command is called directly).
    with pytest.raises(CommandError) as refused:
        call_command("reconcile_payments", stdout=io.StringIO(), stderr=err)

    assert refused.value.returncode != 0
    assert "Payment gateway unavailable" in str(refused.value)
    assert "2 order(s) not checked" in err.getvalue()
    assert [status_of(o) for o in orders] == [Order.Status.PENDING] * 2
    assert mail.outbox == []


def test_dry_run_reports_and_changes_nothing(fake, reconcile_payments):
    order = stale_order()
    fake.complete_session(order.payment_session_id)

    output = reconcile_payments("--dry-run")

    assert output.splitlines()[0].startswith(f"[dry run] {order.reference}  paid")
    assert output.rstrip().endswith("Nothing was changed.")
    assert status_of(order) == Order.Status.PENDING
    assert mail.outbox == []


def test_older_than_sets_the_threshold_in_minutes(fake, reconcile_payments):
    order = stale_order()  # begun 45 minutes ago
    fake.complete_session(order.payment_session_id)

    assert "Checked 0 pending order(s) older than 60 minutes" in reconcile_payments(
        "--older-than", "60"
    )
    assert status_of(order) == Order.Status.PENDING
    assert "1 paid" in reconcile_payments("--older-than", "40")
    assert status_of(order) == Order.Status.PAID


def test_negative_threshold_is_refused(shop):
    with pytest.raises(CommandError):
        call_command("reconcile_payments", "--older-than", "-5")


def test_order_that_cannot_be_settled_makes_the_run_fail_after_the_others(fake, reconcile_payments):
    unknown = order_make(
        session_id="cs_test_not_at_stripe", created_at=timezone.now() - dt.timedelta(hours=1)
    )
    paid = stale_order()
    fake.complete_session(paid.payment_session_id)

    with pytest.raises(CommandError, match="1 order"):
        reconcile_payments()

    assert status_of(paid) == Order.Status.PAID
    assert status_of(unknown) == Order.Status.PENDING


def test_works_with_the_local_gateway(shop, reconcile_payments):
    order = stale_order()
    local_pay(order.payment_session_id)

    output = reconcile_payments()

    assert output.splitlines()[-1] == "Checked 1 pending order(s) older than 30 minutes: 1 paid."
    assert status_of(order) == Order.Status.PAID
    assert len(mail.outbox) == 1


def test_removes_the_claims_of_guest_cookies_too_old_to_verify(reconcile_payments):
    now = timezone.now()
    ages = {"stale": GUEST_COOKIE_MAX_AGE + 60, "live": GUEST_COOKIE_MAX_AGE - 60}
    for name, age in ages.items():
        GuestClaim.objects.create(
            cookie_token=name,
            checkout_token=uuid.uuid4(),
            guest_token=f"guest-{name}",
            created_at=now - dt.timedelta(seconds=age),
        )

    assert "guest cookie claim" not in reconcile_payments("--dry-run")
    assert GuestClaim.objects.count() == 2
    output = reconcile_payments()

    assert output.splitlines()[0] == "Removed 1 expired guest cookie claim(s)."
    assert list(GuestClaim.objects.values_list("cookie_token", flat=True)) == ["live"]
    assert "guest cookie claim" not in reconcile_payments()
