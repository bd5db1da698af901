"""The refunds API is asked outside any database transaction (as the session API is): a slow
or hanging provider must never hold the order's row lock, and a rollback must never forget a
refund the provider already made. Committed for real, so no test transaction hides one."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from shop.models import Refund
from shop.payments import get_gateway
from shop.services.refunds import refund_create, refunds_reconcile
from tests.support.refunds import order_paid_at_fake
from tests.support.shop import product, shop_build
from tests.support.stripe_fake import FakeStripe

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
REASON = Refund.Reason.REQUESTED_BY_CUSTOMER


class TransactionWitness:
    """The real gateway, noting for each refund asked whether a transaction was open."""

    def __init__(self, gateway):
        self.gateway = gateway
        self.in_transaction: list[bool] = []

    def __getattr__(self, name):
        return getattr(self.gateway, name)

    def create_refund(self, request):
        self.in_transaction.append(transaction.get_connection().in_atomic_block)
        return self.gateway.create_refund(request)


def test_a_refund_and_its_retry_are_asked_of_stripe_outside_any_transaction(
    fake: FakeStripe,
) -> None:
    shop_build()
    order = order_paid_at_fake(fake, {product("stoneware-mug"): 1})
    manager = get_user_model().objects.create_user("meg", "meg@example.com", "pw")
    witness = TransactionWitness(get_gateway())

    fake.refuse_connections()
    refund = refund_create(
        order=order, amount=500, reason=REASON, requested_by=manager, gateway=witness
    ).refund
    assert refund.status == Refund.Status.PENDING  # unreachable: kept for the retry
    fake.accept_connections()
    refunds_reconcile(gateway=witness)

    assert witness.in_transaction == [False, False]
    refund.refresh_from_db()
    assert refund.provider_refund_id in fake.refunds
