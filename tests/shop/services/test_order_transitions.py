"""Order status moves only along the allowed transitions; fulfilment is idempotent."""

import dataclasses
import uuid
from collections.abc import Callable

import pytest
from django.core import mail

from shop.models import Order, Source
from shop.models.orders import InvalidTransition
from shop.payments.base import CheckoutSession
from shop.services import fulfilment
from tests.support.orders import session_reported

S = Order.Status
# Written out here rather than read from Order.ALLOWED_TRANSITIONS, so a change to the rules
# has to be made twice, on purpose: money Stripe confirms always wins, nothing else returns.
ALLOWED = {
    (S.PENDING, S.PAID),
    (S.PENDING, S.FAILED),
    (S.PENDING, S.CANCELED),
    (S.PENDING, S.EXPIRED),
    (S.FAILED, S.PAID),
    (S.CANCELED, S.PAID),
    (S.EXPIRED, S.PAID),
    (S.PAID, S.REFUNDED),
    (S.PAID, S.PARTIALLY_REFUNDED),
    (S.PARTIALLY_REFUNDED, S.REFUNDED),
}
ALL_PAIRS = [(old, new) for old in S for new in S]
WEBHOOK = Source.provider_event("evt_first")
WEBHOOK_REPLAY = Source.provider_event("evt_replay")


def unsaved_order(status: str) -> Order:
    return Order(status=status, currency="usd", amount_total=1800, checkout_token=uuid.uuid4())


@pytest.mark.parametrize(("old", "new"), ALL_PAIRS, ids=[f"{o}->{n}" for o, n in ALL_PAIRS])
def test_transition_to_allows_exactly_the_listed_moves(old: str, new: str) -> None:
    order = unsaved_order(old)

    if (old, new) in ALLOWED:
        assert order.transition_to(new) == old
        assert order.status == new
        assert (order.paid_at is not None) == (new == S.PAID)
    else:
        with pytest.raises(InvalidTransition, match=f"{old} -> {new} is not allowed"):
            order.transition_to(new)
        assert order.status == old
        assert order.paid_at is None


# -- the services, against the database --------------------------------------------------------


def reported(order: Order, **changes: object) -> CheckoutSession:
    """The session as the gateway reports it once the shopper has paid."""
    return dataclasses.replace(session_reported(order, paid=True, payment_id="pi_first"), **changes)


Commit = Callable[..., object]


def test_fulfil_pays_once_and_sends_one_email_however_often_it_is_called(
    order: Order, django_capture_on_commit_callbacks: Commit
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.order_fulfil(session=reported(order), source=WEBHOOK)
    order.refresh_from_db()
    paid_at = order.paid_at

    with django_capture_on_commit_callbacks(execute=True):
        for source in (Source.success_page(), WEBHOOK_REPLAY, Source.reconciliation()):
            fulfilment.order_fulfil(
                session=reported(order, payment_id="pi_other", customer_email="x@y.z"),
                source=source,
            )

    order.refresh_from_db()
    assert order.status == S.PAID
    assert order.paid_at == paid_at
    assert (order.payment_id, order.customer_email) == ("pi_first", "ada@example.com")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.com"]


def test_fulfil_finds_an_order_whose_session_id_was_never_stored(
    order: Order, django_capture_on_commit_callbacks: Commit
) -> None:
    # The process died between the gateway creating the session and our update.
    session_id = order.payment_session_id
    Order.objects.filter(pk=order.pk).update(payment_session_id=None)

    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.order_fulfil(session=reported(order, id=session_id), source=WEBHOOK)

    order.refresh_from_db()
    assert (order.status, order.payment_session_id) == (S.PAID, session_id)
    assert len(mail.outbox) == 1


def test_fulfil_with_an_unpaid_session_leaves_the_order_awaiting_confirmation(
    order: Order,
) -> None:
    fulfilment.order_fulfil(session=reported(order, payment_status="unpaid"), source=WEBHOOK)

    order.refresh_from_db()
    assert order.status == S.PENDING
    assert order.awaiting_confirmation_since is not None
    assert order.status_for_shopper == "Awaiting payment confirmation"


@pytest.mark.parametrize(
    "mismatch", [{"amount_total": 1799}, {"currency": "eur"}, {"amount_total": None}]
)
def test_fulfil_refuses_a_payment_that_does_not_match_the_order(
    order: Order, mismatch: dict, django_capture_on_commit_callbacks: Commit
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.order_fulfil(session=reported(order, **mismatch), source=WEBHOOK)

    order.refresh_from_db()
    assert order.status == S.PENDING
    assert mail.outbox == []


def test_fulfil_for_a_session_that_is_not_ours_returns_none(order: Order) -> None:
    foreign = reported(order, id="cs_test_elsewhere", client_reference_id=None)

    assert fulfilment.order_fulfil(session=foreign, source=WEBHOOK) is None
    order.refresh_from_db()
    assert order.status == S.PENDING


def test_payment_after_cancel_still_marks_the_order_paid(
    order: Order, django_capture_on_commit_callbacks: Commit
) -> None:
    fulfilment.order_cancel(order=order, source=Source.cancel_page())

    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.order_fulfil(session=reported(order), source=WEBHOOK)

    order.refresh_from_db()
    assert order.status == S.PAID
    assert len(mail.outbox) == 1


def test_cancel_expire_and_fail_never_undo_a_payment(order: Order) -> None:
    fulfilment.order_fulfil(session=reported(order), source=WEBHOOK)
    session = reported(order, status="expired", payment_status="unpaid")

    fulfilment.order_cancel(order=order, source=Source.cancel_page())
    fulfilment.order_expire(session=session, source=WEBHOOK)
    fulfilment.order_fail(session=session, source=WEBHOOK)

    order.refresh_from_db()
    assert order.status == S.PAID


def test_refund_moves_only_a_paid_order(order: Order) -> None:
    assert fulfilment.order_refund(payment_id="pi_first", source=WEBHOOK) is None

    fulfilment.order_fulfil(session=reported(order), source=WEBHOOK)
    fulfilment.order_refund(payment_id="pi_first", source=WEBHOOK)
    fulfilment.order_refund(payment_id="pi_first", source=WEBHOOK_REPLAY)

    order.refresh_from_db()
    assert order.status == S.REFUNDED
