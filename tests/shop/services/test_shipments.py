"""Shipping a paid order: refusals change nothing and say why; a shipment is one timeline
entry with the operator and one e-mail with the tracking link."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from shop.models import Order, OrderEvent, Source
from shop.services.shipments import (
    ShipmentRefused,
    order_mark_delivered,
    order_ship,
    orders_ship,
)
from tests.support.orders import SHIP_TO, order_make

pytestmark = pytest.mark.django_db

TRACKING = "https://track.example.com/parcel/RM123456789GB"


@pytest.fixture
def operator():
    return get_user_model().objects.create_user("packer", "packer@example.com", "pw")


def _snapshot(order: Order) -> tuple:
    order.refresh_from_db()
    return (
        order.fulfilment_status,
        order.carrier,
        order.tracking_number,
        order.tracking_url,
        order.shipped_at,
        order.timeline.count(),
    )


def _ship(order, operator, **overrides):
    details = {
        "carrier": "Royal Mail",
        "tracking_number": "RM123456789GB",
        "tracking_url": TRACKING,
        **overrides,
    }
    return order_ship(order=order, source=Source.admin_user(operator), **details)


def test_shipping_a_paid_order_records_carrier_tracking_and_one_entry_with_the_operator(
    paid_to_ship, operator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        shipped = _ship(paid_to_ship, operator)

    paid_to_ship.refresh_from_db()
    assert paid_to_ship.fulfilment_status == Order.FulfilmentStatus.SHIPPED
    assert (paid_to_ship.carrier, paid_to_ship.tracking_number, paid_to_ship.tracking_url) == (
        "Royal Mail",
        "RM123456789GB",
        TRACKING,
    )
    assert paid_to_ship.shipped_at is not None
    assert paid_to_ship.status == Order.Status.PAID  # the payment status is untouched
    assert shipped.pk == paid_to_ship.pk
    (entry,) = paid_to_ship.timeline.filter(kind=OrderEvent.Kind.SHIPPED)
    assert entry.user == operator
    assert entry.origin == OrderEvent.Origin.ADMIN_USER
    assert entry.message == "With Royal Mail, tracking RM123456789GB"


def test_a_shipment_sends_one_email_with_the_carrier_and_tracking_link(
    paid_to_ship, operator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _ship(paid_to_ship, operator)

    (message,) = mail.outbox
    assert message.to == ["ada@example.com"]
    assert message.subject == f"Your order {paid_to_ship.reference} has shipped"
    assert "Royal Mail" in message.body
    assert TRACKING in message.body
    # The address as the shopper's order page writes it: the country by name.
    assert (
        "To:\nAda Lovelace\n12 Marylebone Road\nFlat 3\nNW1 5LR London\nGreater London\n"
        "United Kingdom\n" in message.body
    )
    html = message.alternatives[0][0]
    assert f'href="{TRACKING}"' in html
    assert "12 Marylebone Road<br>Flat 3" in html and "United Kingdom" in html
    paid_to_ship.refresh_from_db()
    assert paid_to_ship.shipped_emailed_at is not None
    assert (
        paid_to_ship.timeline.filter(
            kind=OrderEvent.Kind.EMAIL_SENT, message="Order shipped"
        ).count()
        == 1
    )


def test_shipping_twice_is_refused_and_sends_no_second_email(
    paid_to_ship, operator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _ship(paid_to_ship, operator)
    before = _snapshot(paid_to_ship)

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ShipmentRefused) as refused,
    ):
        _ship(paid_to_ship, operator, carrier="DHL", tracking_number="X1")

    assert "already shipped" in refused.value.message
    assert "Royal Mail" in refused.value.message
    assert _snapshot(paid_to_ship) == before
    assert len(mail.outbox) == 1


def test_a_partly_refunded_order_ships_what_is_left(operator, django_capture_on_commit_callbacks):
    order = order_make(
        status=Order.Status.PARTIALLY_REFUNDED, email="ada@example.com", shipping=SHIP_TO
    )

    with django_capture_on_commit_callbacks(execute=True):
        _ship(order, operator)

    order.refresh_from_db()
    assert order.fulfilment_status == Order.FulfilmentStatus.SHIPPED
    assert order.timeline.filter(kind=OrderEvent.Kind.SHIPPED).count() == 1


@pytest.mark.parametrize(
    "status",
    [
        Order.Status.PENDING,
        Order.Status.FAILED,
        Order.Status.CANCELED,
        Order.Status.EXPIRED,
        Order.Status.REFUNDED,
    ],
)
def test_only_paid_orders_ship(status, operator, django_capture_on_commit_callbacks):
    order = order_make(status=status, email="ada@example.com", shipping=SHIP_TO)
    before = _snapshot(order)

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ShipmentRefused) as refused,
    ):
        _ship(order, operator)

    assert "only paid orders can be shipped" in refused.value.message
    assert order.reference in refused.value.message
    assert _snapshot(order) == before
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"tracking_url": "javascript:alert(1)"}, "http:// or https://"),
        ({"tracking_url": "ftp://track.example.com/1"}, "http:// or https://"),
        ({"tracking_url": "track.example.com/1"}, "http:// or https://"),
        ({"tracking_url": "https://"}, "http:// or https://"),
        ({"carrier": "   "}, "Say which carrier"),
        ({"carrier": "x" * 81}, "at most 80 characters"),
        ({"tracking_number": "RM\x00123"}, "cannot be printed"),
        ({"tracking_url": "https://track.example.com/" + "a" * 500}, "at most 500"),
    ],
)
def test_bad_shipment_details_are_refused_with_why_and_change_nothing(
    paid_to_ship, operator, fields, says
):
    before = _snapshot(paid_to_ship)

    with pytest.raises(ShipmentRefused) as refused:
        _ship(paid_to_ship, operator, **fields)

    assert says in refused.value.message
    assert _snapshot(paid_to_ship) == before


def test_tracking_is_optional_and_text_is_trimmed(paid_to_ship, operator):
    _ship(paid_to_ship, operator, carrier="  Local courier ", tracking_number="", tracking_url="")

    paid_to_ship.refresh_from_db()
    assert (paid_to_ship.carrier, paid_to_ship.tracking_number, paid_to_ship.tracking_url) == (
        "Local courier",
        "",
        "",
    )
    assert paid_to_ship.timeline.get(kind=OrderEvent.Kind.SHIPPED).message == "With Local courier"


def test_delivered_once_shipped_and_only_then(paid_to_ship, operator):
    source = Source.admin_user(operator)
    with pytest.raises(ShipmentRefused, match="has not been shipped"):
        order_mark_delivered(order=paid_to_ship, source=source)
    _ship(paid_to_ship, operator)

    order_mark_delivered(order=paid_to_ship, source=source)

    paid_to_ship.refresh_from_db()
    assert paid_to_ship.fulfilment_status == Order.FulfilmentStatus.DELIVERED
    assert paid_to_ship.delivered_at is not None
    assert paid_to_ship.timeline.get(kind=OrderEvent.Kind.DELIVERED).user == operator
    with pytest.raises(ShipmentRefused, match="already marked delivered"):
        order_mark_delivered(order=paid_to_ship, source=source)
    assert paid_to_ship.timeline.filter(kind=OrderEvent.Kind.DELIVERED).count() == 1
    with pytest.raises(ShipmentRefused, match="already shipped"):
        _ship(paid_to_ship, operator)


def test_bulk_shipment_ships_each_paid_order_with_its_own_entry_and_email_and_lists_refusals(
    operator, django_capture_on_commit_callbacks
):
    first = order_make(status=Order.Status.PAID, email="ada@example.com", shipping=SHIP_TO)
    second = order_make(status=Order.Status.PAID, email="grace@example.com", shipping=SHIP_TO)
    unpaid = order_make(status=Order.Status.PENDING, email="linus@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        outcome = orders_ship(
            orders=[first, second, unpaid],
            carrier="Royal Mail",
            tracking_numbers={first.pk: "RM1"},
            source=Source.admin_user(operator),
        )

    assert [order.reference for order in outcome.shipped] == [first.reference, second.reference]
    assert outcome.refused == [
        (unpaid.reference, f"Order {unpaid.reference} is pending: only paid orders can be shipped.")
    ]
    assert sorted(message.to[0] for message in mail.outbox) == [
        "ada@example.com",
        "grace@example.com",
    ]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.tracking_number, second.tracking_number) == ("RM1", "")
    assert OrderEvent.objects.filter(kind=OrderEvent.Kind.SHIPPED).count() == 2
    assert status_unchanged(unpaid)


def status_unchanged(order: Order) -> bool:
    order.refresh_from_db()
    return order.fulfilment_status == Order.FulfilmentStatus.UNFULFILLED and not order.carrier
