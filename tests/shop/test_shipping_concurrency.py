"""Two operators press Mark as shipped on one order at the same moment, on PostgreSQL where
the row lock is real: one shipment, one timeline entry, one e-mail."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client
from django.urls import reverse

from shop.models import Order, OrderEvent
from shop.services.staff import FULFILMENT_GROUP, staff_groups_ensure
from tests.support.orders import SHIP_TO, order_make
from tests.support.shop import shop_build
from tests.support.threads import together

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _operator(name: str) -> Client:
    user = get_user_model().objects.create_user(name, f"{name}@example.com", "pw")
    user.groups.add(Group.objects.get(name=FULFILMENT_GROUP))
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("operators", [2, 6])
def test_simultaneous_mark_as_shipped_ships_once_with_one_entry_and_one_email(operators):
    shop_build()
    staff_groups_ensure()
    order = order_make(status=Order.Status.PAID, email="ada@example.com", shipping=SHIP_TO)
    clients = [_operator(f"packer{i}") for i in range(operators)]
    url = reverse("orders:ship", args=[order.pk])

    responses = together(
        operators,
        lambda i: clients[i].post(
            url,
            {
                "carrier": f"Carrier {i}",
                "tracking_number": f"T{i}",
                "tracking_url": f"https://track.example.com/{i}",
            },
        ),
    )

    assert [response.status_code for response in responses] == [302] * operators
    order.refresh_from_db()
    assert order.fulfilment_status == Order.FulfilmentStatus.SHIPPED
    (entry,) = order.timeline.filter(kind=OrderEvent.Kind.SHIPPED)
    winner = int(entry.user.username.removeprefix("packer"))
    assert (order.carrier, order.tracking_number) == (f"Carrier {winner}", f"T{winner}")
    (message,) = mail.outbox
    assert f"https://track.example.com/{winner}" in message.body
    assert order.timeline.filter(kind=OrderEvent.Kind.EMAIL_SENT).count() == 1
    assert order.shipped_emailed_at is not None
