"""Operators and Stripe at the same moment, on PostgreSQL where the row locks are real: a
resend pressed by several managers at once, two managers canceling one order, one dispute's
events delivered to several servers at once."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client
from django.urls import reverse

from shop.models import Dispute, Order, OrderEvent, PaymentEvent, Product
from shop.services import fulfilment
from shop.services.staff import MANAGERS_GROUP
from shop.stock import stock_level
from tests.support.events import dispute_event, dispute_object, signature_for
from tests.support.orders import order_checkout, session_reported
from tests.support.stripe_fake import FakeStripe
from tests.support.threads import together

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.stripe_settings(STRIPE_TIMEOUT_SECONDS=5),
]

K = OrderEvent.Kind


@pytest.fixture
def mug_committed(committed_shop) -> Product:
    return committed_shop[0]


def managers(count: int) -> list[Client]:
    group = Group.objects.get(name=MANAGERS_GROUP)
    clients = []
    for index in range(count):
        user = get_user_model().objects.create_user(f"manager{index}", password="pw")
        user.groups.add(group)
        client = Client()
        client.force_login(user)
        clients.append(client)
    return clients


def test_ten_managers_pressing_resend_at_once_send_one_more_confirmation(mug_committed):
    order, _ = order_checkout({mug_committed: 1}, email="ada@example.com")
    fulfilment.order_fulfil(
        session=session_reported(order, paid=True), source=fulfilment.Source.system()
    )
    order.refresh_from_db()
    assert order.confirmation_emailed_at is not None
    mail.outbox.clear()
    clients = managers(10)
    url = reverse("orders:resend_confirmation", args=[order.pk])

    responses = together(10, lambda i: clients[i].post(url))

    assert [r.status_code for r in responses] == [302] * 10
    assert order.timeline.filter(kind=K.EMAIL_RESEND_REQUESTED).count() == 1
    assert order.timeline.filter(kind=K.EMAIL_SENT).count() == 2
    assert len(mail.outbox) == 1


def test_two_managers_canceling_at_once_cancel_once_and_release_stock_once(
    fake: FakeStripe, mug_committed
):
    Product.objects.filter(pk=mug_committed.pk).update(stock=5)
    order, session = order_checkout({mug_committed: 2})
    clients = managers(2)
    url = reverse("orders:cancel", args=[order.pk])

    responses = together(2, lambda i: clients[i].post(url))

    assert [r.status_code for r in responses] == [302, 302]
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert order.timeline.filter(new_status=Order.Status.CANCELED).count() == 1
    assert order.timeline.filter(kind=K.STOCK_RELEASED).count() == 1
    assert stock_level(mug_committed.pk).available == 5
    assert fake.sessions[session.id]["status"] == "expired"


def test_one_disputes_events_delivered_at_once_make_one_dispute_and_one_notice(mug_committed):
    order, _ = order_checkout({mug_committed: 1})
    fulfilment.order_fulfil(
        session=session_reported(order, paid=True, payment_id="pi_test_race"),
        source=fulfilment.Source.system(),
    )
    mail.outbox.clear()
    dispute = dispute_object(payment_intent="pi_test_race", amount=1800, dispute_id="dp_race")
    bodies = [
        json.dumps(dispute_event(phase, {**dispute, "status": status})).encode()
        for phase, status in [("created", "needs_response")] * 3 + [("updated", "under_review")] * 3
    ]
    # Each body delivered twice: Stripe retrying on another server.
    deliveries = bodies + bodies

    responses = together(
        len(deliveries),
        lambda i: Client().post(
            "/stripe/webhook/",
            deliveries[i],
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature_for(deliveries[i]),
        ),
    )

    assert [r.status_code for r in responses] == [200] * len(deliveries)
    assert PaymentEvent.objects.filter(type__startswith="charge.dispute").count() == len(bodies)
    (recorded,) = Dispute.objects.all()
    assert recorded.order == order
    kinds = (K.DISPUTE_OPENED, K.DISPUTE_UPDATED)
    assert order.timeline.filter(kind__in=kinds).count() == len(bodies)
    assert [m.subject for m in mail.outbox] == [f"Dispute opened on order {order.reference}"]
