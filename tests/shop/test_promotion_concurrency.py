"""Twenty shoppers race for a promotion code's last five redemptions, on PostgreSQL where the
code's row lock is real: at most five orders hold it, and at most five paid orders use it."""

from urllib.parse import urlencode

import pytest
from django.http import HttpResponse

from shop.models import Order, Product
from shop.promotions import redemptions_of
from tests.support.events import deliver, event
from tests.support.orders import order_make
from tests.support.promotions import promotion
from tests.support.shopper import Browser
from tests.support.stripe_fake import FakeStripe
from tests.support.stripe_settings import WEBHOOK_SECRET
from tests.support.threads import together

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    # Twenty threads share two cores here: give each Stripe call room.
    pytest.mark.stripe_settings(STRIPE_TIMEOUT_SECONDS=10),
]

SHOPPERS = 20


def test_twenty_shoppers_racing_for_five_redemptions_make_at_most_five_paid_orders(
    fake: FakeStripe, committed_shop: list[Product]
) -> None:
    mug, _ = committed_shop
    code = promotion("RACE", percent_off=10, max_redemptions=8)
    for _ in range(3):  # three redeemed already: five left
        Order.objects.filter(pk=order_make(status=Order.Status.PAID).pk).update(promotion=code)
    browsers = [Browser() for _ in range(SHOPPERS)]
    forms = [
        urlencode(
            {"checkout_token": b.page_token(), f"qty_{mug.pk}": "1", "promotion_code": "race"}
        )
        for b in browsers
    ]

    responses: list[HttpResponse] = together(
        SHOPPERS,
        lambda i: browsers[i].client.post(
            "/checkout/", forms[i], content_type="application/x-www-form-urlencoded"
        ),
        timeout=120,
    )

    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {303, 409, 503}, statuses
    placed = Order.objects.filter(promotion=code, status=Order.Status.PENDING)
    assert placed.count() == statuses.count(303) + statuses.count(503) == 5
    assert statuses.count(409) == SHOPPERS - 5
    held = redemptions_of([code.pk])[code.pk]
    assert (held.held, held.redeemed) == (placed.count(), 3)

    for session_id in list(fake.sessions):
        paid = fake.complete_session(session_id)
        deliver(browsers[0], event("checkout.session.completed", paid), secret=WEBHOOK_SECRET)

    paid_with_code = Order.objects.filter(promotion=code, status=Order.Status.PAID).count()
    assert paid_with_code <= 8
    assert paid_with_code - 3 == len(fake.sessions) <= 5
    assert redemptions_of([code.pk])[code.pk].redeemed == paid_with_code
