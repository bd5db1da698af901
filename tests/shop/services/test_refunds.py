"""Refunds through the real stripe SDK against the fake Stripe: the record first, one API
call with its idempotency key, and the order moving only on the provider's events."""

import datetime as dt

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from shop.models import Order, OrderEvent, Refund
from shop.payments import get_gateway
from shop.services.reconciliation import payments_reconcile
from shop.services.refunds import RefundNotAllowed, refund_create, refunds_reconcile
from shop.tasks import SEND_ATTEMPTS
from tests.support.mail_backends import FlakyBackend
from tests.support.refunds import delivered, order_paid_at_fake
from tests.support.stripe_fake import FakeStripe

pytestmark = pytest.mark.django_db
REASON = Refund.Reason.REQUESTED_BY_CUSTOMER


def refund_posts(fake: FakeStripe):
    return [r for r in fake.requests if r.method == "POST" and r.path == "/v1/refunds"]


def kinds(order: Order) -> list[str]:
    return list(order.timeline.values_list("kind", flat=True))


def test_partial_refund_asks_once_with_its_key_and_the_event_moves_the_order(
    fake, mug, tote, manager
):
    order = order_paid_at_fake(fake, {mug: 1, tote: 2})

    outcome = refund_create(order=order, amount=500, reason=REASON, requested_by=manager)

    refund = outcome.refund
    (sent,) = refund_posts(fake)
    assert sent.idempotency_key == f"refund-{refund.pk}"
    assert sent.params["payment_intent"] == order.payment_id
    assert sent.params["amount"] == "500"
    assert sent.params["reason"] == "requested_by_customer"
    assert sent.params["metadata"] == {
        "refund_id": str(refund.pk),
        "order_reference": order.reference,
    }
    assert outcome.problem == ""
    assert (refund.status, refund.provider_refund_id) == (
        "pending",
        sent_id := refund.provider_refund_id,
    )
    assert sent_id in fake.refunds
    order.refresh_from_db()
    # Our request alone marks nothing refunded.
    assert (order.status, order.amount_refunded) == ("paid", 0)

    delivered(*fake.refund_events(refund.provider_refund_id))

    order.refresh_from_db()
    refund.refresh_from_db()
    assert (order.status, order.amount_refunded) == ("partially_refunded", 500)
    assert refund.status == "succeeded"
    assert OrderEvent.Kind.REFUND_REQUESTED in kinds(order)
    assert kinds(order).count(OrderEvent.Kind.REFUND_SUCCEEDED) == 1
    refund_mails = [m for m in mail.outbox if "refund" in m.subject.lower()]
    assert len(refund_mails) == 1 and "$5.00" in refund_mails[0].body


def test_a_second_partial_refund_for_the_rest_makes_it_refunded(fake, mug, tote, manager):
    order = order_paid_at_fake(fake, {mug: 1, tote: 2})
    first = refund_create(order=order, amount=500, reason=REASON, requested_by=manager).refund
    delivered(*fake.refund_events(first.provider_refund_id))

    rest = order.amount_total - 500
    second = refund_create(order=order, amount=rest, reason=REASON, requested_by=manager).refund
    delivered(*fake.refund_events(second.provider_refund_id))

    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == ("refunded", order.amount_total)
    assert len(refund_posts(fake)) == 2
    assert len([m for m in mail.outbox if "refund" in m.subject.lower()]) == 2


def test_more_than_is_left_is_refused_without_asking_stripe(fake, mug, manager):
    order = order_paid_at_fake(fake, {mug: 1})
    refund_create(order=order, amount=1000, reason=REASON, requested_by=manager)

    with pytest.raises(RefundNotAllowed, match="more than is left to refund"):
        refund_create(
            order=order, amount=order.amount_total - 999, reason=REASON, requested_by=manager
        )

    assert len(refund_posts(fake)) == 1
    assert Refund.objects.count() == 1


@pytest.mark.parametrize("amount", [0, -5])
def test_nothing_or_less_is_refused_without_asking_stripe(fake, mug, manager, amount):
    order = order_paid_at_fake(fake, {mug: 1})

    with pytest.raises(RefundNotAllowed):
        refund_create(order=order, amount=amount, reason=REASON, requested_by=manager)

    assert refund_posts(fake) == [] and not Refund.objects.exists()


def test_an_unpaid_order_is_refused_without_asking_stripe(fake, mug, manager):
    from tests.support.orders import order_checkout

    order, _ = order_checkout({mug: 1})

    with pytest.raises(RefundNotAllowed, match="Only a paid order"):
        refund_create(order=order, amount=100, reason=REASON, requested_by=manager)

    assert refund_posts(fake) == []


def test_more_units_than_bought_are_refused(fake, mug, tote, manager):
    order = order_paid_at_fake(fake, {mug: 1, tote: 2})
    tote_line = order.lines.get(product=tote)
    refund_create(
        order=order, amount=None, lines={tote_line.pk: 1}, reason=REASON, requested_by=manager
    )

    with pytest.raises(RefundNotAllowed, match="only 1 left to refund"):
        refund_create(
            order=order, amount=None, lines={tote_line.pk: 2}, reason=REASON, requested_by=manager
        )

    (sent,) = refund_posts(fake)
    assert sent.params["amount"] == str(tote_line.unit_amount)


def test_a_dashboard_refund_is_recorded_from_its_event(fake, mug, tote):
    order = order_paid_at_fake(fake, {mug: 1, tote: 2})

    made = fake.dashboard_refund(order.payment_id, 700)
    delivered(*fake.refund_events(made["id"]))

    order.refresh_from_db()
    (refund,) = order.refunds.all()
    assert (refund.amount, refund.status, refund.requested_by) == (700, "succeeded", None)
    assert refund.made_at_provider and refund.provider_refund_id == made["id"]
    assert (order.status, order.amount_refunded) == ("partially_refunded", 700)


def test_an_event_before_refunds_create_returns_and_twice_is_applied_once(fake, mug, manager):
    order = order_paid_at_fake(fake, {mug: 1})
    fake.refund_status = "pending"
    refund = refund_create(order=order, amount=300, reason=REASON, requested_by=manager).refund
    # As if the event had come before our record held the provider's id.
    Refund.objects.filter(pk=refund.pk).update(provider_refund_id=None)
    succeeded = fake.update_refund(fake_id := next(iter(fake.refunds)), "succeeded")

    delivered(succeeded)
    delivered(succeeded)  # the same event again
    delivered(fake.update_refund(fake_id, "succeeded"))  # another event, same news

    refund.refresh_from_db()
    order.refresh_from_db()
    assert (refund.status, refund.provider_refund_id) == ("succeeded", fake_id)
    assert (order.status, order.amount_refunded) == ("partially_refunded", 300)
    assert kinds(order).count(OrderEvent.Kind.REFUND_SUCCEEDED) == 1
    assert Refund.objects.count() == 1


def test_a_refund_that_fails_at_the_bank_marks_nothing_refunded(fake, mug, manager):
    order = order_paid_at_fake(fake, {mug: 1})
    fake.refund_status = "pending"
    refund = refund_create(order=order, amount=300, reason=REASON, requested_by=manager).refund

    delivered(
        fake.update_refund(
            refund.provider_refund_id, "failed", failure_reason="expired_or_canceled_card"
        )
    )

    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == "failed"
    assert refund.failure_reason == "The card has expired or was canceled."
    assert (order.status, order.amount_refunded) == ("paid", 0)
    assert OrderEvent.Kind.REFUND_FAILED in kinds(order)
    # What failed is left to refund again.
    refund_create(order=order, amount=order.amount_total, reason=REASON, requested_by=manager)


def test_stripe_down_leaves_it_pending_and_reconciliation_asks_again_with_the_same_key(
    fake, mug, manager
):
    order = order_paid_at_fake(fake, {mug: 1})
    fake.refuse_connections()

    outcome = refund_create(order=order, amount=400, reason=REASON, requested_by=manager)

    assert "could not be reached" in outcome.problem
    assert outcome.refund.status == "pending" and outcome.refund.provider_refund_id is None
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == ("paid", 0)

    fake.accept_connections()
    report = payments_reconcile()
    refunds_reconcile()  # now by its id: no second refund

    assert report.refunds_retried == [str(outcome.refund.pk)]
    (sent,) = refund_posts(fake)
    assert sent.idempotency_key == f"refund-{outcome.refund.pk}"
    outcome.refund.refresh_from_db()
    assert outcome.refund.provider_refund_id in fake.refunds
    # Reconciliation asked Stripe about it: it succeeded there.
    assert outcome.refund.status == "succeeded"
    order.refresh_from_db()
    assert order.amount_refunded == 400


def test_stripe_refusing_fails_the_refund_with_its_reason(fake, mug, manager):
    order = order_paid_at_fake(fake, {mug: 1})
    fake.dashboard_refund(order.payment_id, order.amount_total)  # all of it, elsewhere

    outcome = refund_create(order=order, amount=100, reason=REASON, requested_by=manager)

    assert outcome.refund.status == "failed"
    assert "already been refunded" in outcome.problem
    order.refresh_from_db()
    assert order.amount_refunded == 0


def test_the_same_form_twice_is_one_refund(fake, mug, manager):
    import uuid

    order = order_paid_at_fake(fake, {mug: 1})
    token = uuid.uuid4()

    first = refund_create(order=order, amount=200, reason=REASON, requested_by=manager, token=token)
    again = refund_create(order=order, amount=200, reason=REASON, requested_by=manager, token=token)

    assert first.refund.pk == again.refund.pk
    assert Refund.objects.count() == 1
    # Asked again with the same key: Stripe answers with the same refund.
    assert {r.idempotency_key for r in refund_posts(fake)} == {f"refund-{first.refund.pk}"}
    assert len(fake.refunds) == 1


def test_a_refund_email_the_mail_server_refused_every_time_is_sent_by_reconciliation(
    fake, mug, manager
):
    order = order_paid_at_fake(fake, {mug: 1})
    mail.outbox.clear()
    refund = refund_create(order=order, amount=500, reason=REASON, requested_by=manager).refund
    # The mail server refuses every attempt of every send while the refund's events arrive.
    FlakyBackend.reset(failures=100)
    with override_settings(EMAIL_BACKEND="tests.support.mail_backends.FlakyBackend"):
        delivered(*fake.refund_events(refund.provider_refund_id))
    refund.refresh_from_db()
    assert FlakyBackend.attempts >= SEND_ATTEMPTS
    assert (refund.status, refund.emailed_at, mail.outbox) == ("succeeded", None, [])
    Refund.objects.filter(pk=refund.pk).update(succeeded_at=timezone.now() - dt.timedelta(hours=2))

    first = payments_reconcile(gateway=get_gateway())
    again = payments_reconcile(gateway=get_gateway())

    assert first.refund_emails_requeued == [f"{order.reference} refund {refund.pk}"]
    assert again.refund_emails_requeued == []
    (message,) = mail.outbox
    assert message.subject == f"$5.00 refunded on your order {order.reference}"
    assert (
        order.timeline.filter(kind=OrderEvent.Kind.EMAIL_SENT, message="Refund $5.00").count() == 1
    )
