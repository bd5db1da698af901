"""Refund races on PostgreSQL, where the row locks are real: two operators refunding at once,
one form submitted twice at once, and one refund's events delivered many times at once."""

import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from shop.models import Order, OrderEvent, Refund
from shop.services.refunds import RefundNotAllowed, refund_create
from tests.support.events import signature_for
from tests.support.refunds import order_paid_at_fake
from tests.support.shop import product, shop_build
from tests.support.stripe_fake import FakeStripe
from tests.support.threads import together

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.stripe_settings(STRIPE_TIMEOUT_SECONDS=5),
]
REASON = Refund.Reason.REQUESTED_BY_CUSTOMER


@pytest.fixture
def paid_order(transactional_db, fake: FakeStripe) -> Order:
    """A paid order of a mug and two totes, committed for real threads to see."""
    shop_build()
    return order_paid_at_fake(fake, {product("stoneware-mug"): 1, product("canvas-tote"): 2})


def refund_posts(fake: FakeStripe) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path == "/v1/refunds"]


def test_two_operators_refunding_the_whole_order_at_once_make_one_refund(
    fake: FakeStripe, paid_order: Order
) -> None:
    users = [get_user_model().objects.create_user(f"op{i}", password="pw") for i in range(2)]

    def refund(index: int) -> str:
        try:
            refund_create(order=paid_order, amount=None, reason=REASON, requested_by=users[index])
        except RefundNotAllowed as exc:
            return exc.message
        return "refunded"

    results = together(2, refund)

    assert sorted(results) == ["Nothing is left to refund on this order.", "refunded"]
    assert Refund.objects.count() == 1
    (sent,) = refund_posts(fake)
    assert sent.params["amount"] == str(paid_order.amount_total)
    assert paid_order.timeline.filter(kind=OrderEvent.Kind.REFUND_REQUESTED).count() == 1


def test_one_form_submitted_twice_at_once_is_one_refund(
    fake: FakeStripe, paid_order: Order
) -> None:
    user = get_user_model().objects.create_user("op", password="pw")
    token = uuid.uuid4()

    refunds = together(
        2,
        lambda i: (
            refund_create(
                order=paid_order, amount=500, reason=REASON, requested_by=user, token=token
            ).refund.pk
        ),
    )

    assert refunds[0] == refunds[1]
    assert Refund.objects.count() == 1
    # Both asked with the one key: Stripe made one refund.
    assert {r.idempotency_key for r in refund_posts(fake)} == {f"refund-{refunds[0]}"}
    assert len(fake.refunds) == 1


def test_a_dashboard_refunds_events_delivered_at_once_are_applied_once(
    fake: FakeStripe, paid_order: Order
) -> None:
    made = fake.dashboard_refund(paid_order.payment_id, 700)
    created, charged = fake.refund_events(made["id"])
    updated = fake.update_refund(made["id"], "succeeded")
    bodies = [json.dumps(e).encode() for e in (created, charged, updated)] * 4

    responses = together(
        len(bodies),
        lambda i: Client().post(
            "/stripe/webhook/",
            bodies[i],
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature_for(bodies[i]),
        ),
    )

    assert [r.status_code for r in responses] == [200] * len(bodies)
    (refund,) = Refund.objects.all()
    assert (refund.amount, refund.status, refund.made_at_provider) == (700, "succeeded", True)
    paid_order.refresh_from_db()
    assert (paid_order.status, paid_order.amount_refunded) == ("partially_refunded", 700)
    assert paid_order.timeline.filter(kind=OrderEvent.Kind.REFUND_SUCCEEDED).count() == 1
    assert paid_order.timeline.filter(new_status="partially_refunded").count() == 1
