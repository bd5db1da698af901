"""Every change to an order writes one OrderEvent, in the same transaction; nothing else does."""

from collections.abc import Callable
from functools import partial

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from shop import tasks
from shop.models import Order, OrderEvent, Source
from shop.services import fulfilment, refunds
from tests.support.orders import session_reported

S = Order.Status
K = OrderEvent.Kind
WEBHOOK = Source.provider_event("evt_timeline")
ALLOWED = [
    (old, new) for old, targets in Order.ALLOWED_TRANSITIONS.items() for new in sorted(targets)
]
# Nothing moves an order back to pending, so no service can be asked to.
REFUSED = [
    (old, new)
    for old in S
    for new in S
    if new != S.PENDING and new not in Order.ALLOWED_TRANSITIONS[old]
]


# Every payment in these tests has this id, so the timeline's message can be read back.
session_of = partial(session_reported, payment_id="pi_timeline")


# The service that moves an order to each status, as the webhook, pages and reconciliation call it.
MOVES: dict[str, Callable[[Order], object]] = {
    S.PAID: lambda o: fulfilment.order_fulfil(session=session_of(o, paid=True), source=WEBHOOK),
    S.FAILED: lambda o: fulfilment.order_fail(session=session_of(o, paid=False), source=WEBHOOK),
    S.CANCELED: lambda o: fulfilment.order_cancel(order=o, source=Source.cancel_page()),
    S.EXPIRED: lambda o: fulfilment.order_expire(
        session=session_of(o, paid=False), source=Source.reconciliation()
    ),
    S.REFUNDED: lambda o: fulfilment.order_refund(payment_id="pi_timeline", source=WEBHOOK),
    # The provider reports one minor unit of the payment given back so far.
    S.PARTIALLY_REFUNDED: lambda o: refunds.order_refund_reported(
        payment_id="pi_timeline", amount_refunded=1, fully=False, source=WEBHOOK
    ),
}
# How an order placed through the services reaches each status.
PATHS = {
    S.PENDING: (),
    S.PAID: (S.PAID,),
    S.FAILED: (S.FAILED,),
    S.CANCELED: (S.CANCELED,),
    S.EXPIRED: (S.EXPIRED,),
    S.REFUNDED: (S.PAID, S.REFUNDED),
    S.PARTIALLY_REFUNDED: (S.PAID, S.PARTIALLY_REFUNDED),
}


def brought_to(order: Order, status: str) -> Order:
    for step in PATHS[status]:
        MOVES[step](order)
    order.refresh_from_db()
    assert order.status == status
    return order


def entries(order: Order) -> list[tuple[str, str, str]]:
    return list(order.timeline.values_list("kind", "old_status", "new_status"))


def test_placing_an_order_writes_placed_from_checkout(order: Order) -> None:
    (placed,) = order.timeline.all()

    assert (placed.kind, placed.origin, placed.new_status) == (K.PLACED, "checkout", "")
    assert placed.message == f"Total {order.total_display}"


@pytest.mark.parametrize(("old", "new"), ALLOWED, ids=[f"{o}->{n}" for o, n in ALLOWED])
def test_each_allowed_move_writes_one_entry_with_both_statuses(
    order: Order, old: str, new: str
) -> None:
    brought_to(order, old)
    before = entries(order)

    MOVES[new](order)

    order.refresh_from_db()
    assert order.status == new
    added = entries(order)[len(before) :]
    kind = {S.PAID: K.PAYMENT_RECEIVED, S.FAILED: K.PAYMENT_DECLINED}.get(new, K.STATUS_CHANGED)
    assert added == [(kind, old, new)]
    # A repeat of the same move changes nothing and writes nothing.
    MOVES[new](order)
    assert len(entries(order)) == len(before) + 1


@pytest.mark.parametrize(("old", "new"), REFUSED, ids=[f"{o}->{n}" for o, n in REFUSED])
def test_a_refused_move_writes_no_status_entry(order: Order, old: str, new: str) -> None:
    brought_to(order, old)
    before = entries(order)

    MOVES[new](order)

    order.refresh_from_db()
    assert order.status == old
    added = entries(order)[len(before) :]
    if new == S.FAILED and old in (S.CANCELED, S.EXPIRED):
        # The failure itself is still recorded: the order now reads "Payment declined".
        assert added == [(K.PAYMENT_DECLINED, "", "")]
    else:
        assert added == []


def test_payment_received_names_the_amount_the_payment_and_the_provider_event(
    order: Order,
) -> None:
    MOVES[S.PAID](order)

    entry = order.timeline.get(kind=K.PAYMENT_RECEIVED)
    assert entry.message == f"{order.total_display} received, payment pi_timeline"
    assert (entry.origin, entry.provider_event_id) == ("provider_event", "evt_timeline")
    assert entry.origin_display == "Provider event evt_timeline"


def test_a_change_rolled_back_leaves_no_entry(order: Order) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        MOVES[S.CANCELED](order)
        raise RuntimeError("the request failed after the change")

    order.refresh_from_db()
    assert order.status == S.PENDING
    assert entries(order) == [(K.PLACED, "", "")]


def test_an_entry_that_cannot_be_written_undoes_its_change(order: Order) -> None:
    never_saved = get_user_model()(username="ghost")

    with pytest.raises(ValueError):
        fulfilment.order_cancel(order=order, source=Source.admin_user(never_saved))

    order.refresh_from_db()
    assert order.status == S.PENDING
    assert entries(order) == [(K.PLACED, "", "")]


def test_a_declined_card_and_a_return_from_paying_are_each_written_once(order: Order) -> None:
    fulfilment.order_decline(
        order_reference=order.reference, reason="Your card was declined.", source=WEBHOOK
    )
    for _ in range(2):
        fulfilment.order_mark_returned(order=order, source=Source.success_page())

    declined, awaiting = order.timeline.exclude(kind=K.PLACED)
    assert (declined.kind, declined.message) == (K.PAYMENT_DECLINED, "Your card was declined.")
    assert (awaiting.kind, awaiting.origin) == (K.AWAITING_CONFIRMATION, "success_page")


def test_the_confirmation_e_mail_is_written_once_it_has_gone_out(order: Order, mailoutbox):
    MOVES[S.PAID](order)

    assert tasks.order_confirmation_send.call(order.pk) is True
    assert tasks.order_confirmation_send.call(order.pk) is False

    (sent,) = order.timeline.filter(kind=K.EMAIL_SENT)
    assert sent.origin == "system"
    assert len(mailoutbox) == 1


def test_the_shopper_sees_placed_paid_and_refunded_only(order: Order) -> None:
    fulfilment.order_decline(
        order_reference=order.reference, reason="Your card was declined.", source=WEBHOOK
    )
    fulfilment.order_mark_returned(order=order, source=Source.success_page())
    MOVES[S.PAID](order)
    MOVES[S.REFUNDED](order)

    shown = [entry.shopper_label for entry in order.timeline.for_shopper()]

    assert shown == ["Placed", "Paid", "Refunded"]
    assert order.timeline.count() == 5


def test_an_entry_is_never_changed(order: Order) -> None:
    placed = order.timeline.get()
    placed.message = "rewritten"

    with pytest.raises(ValueError, match="never changed"):
        placed.save()
