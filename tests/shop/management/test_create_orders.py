import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from shop.models import Order, OrderLine, PaymentEvent, Product
from shop.shoppers import Shopper

pytestmark = pytest.mark.django_db


def _create(*args) -> str:
    out = io.StringIO()
    call_command("create_orders", *args, stdout=out)
    return out.getvalue()


def test_orders_lines_and_events_are_created_in_batches_and_shown_to_their_shopper(shop, client):
    said = _create(
        "--orders", "30", "--events", "45", "--shopper-orders", "12",
        "--shopper-email", "Many@Example.com", "--pending", "3",
    )  # fmt: skip

    assert "created 45 orders (3 pending) and 45 payment events" in said
    assert Order.objects.count() == 45
    assert len(set(Order.objects.values_list("reference", flat=True))) == 45
    assert OrderLine.objects.filter(order__isnull=False).count() >= 45
    for order in Order.objects.prefetch_related("lines"):
        assert order.amount_total == sum(li.unit_amount * li.quantity for li in order.lines.all())
    assert PaymentEvent.objects.count() == 45
    assert not PaymentEvent.objects.exclude(order__status__in=Order.PAID_STATUSES).exists()
    pending = Order.objects.filter(status=Order.Status.PENDING)
    assert pending.count() == 3 and all(o.payment_session_id for o in pending)

    shopper = get_user_model().objects.get(username="many@example.com")
    history = Order.objects.history_of(Shopper(user_id=shopper.pk, guest_token=None))
    assert history.count() == Order.objects.filter(user=shopper).count() == 12
    client.force_login(shopper)
    page = client.get("/orders/").content.decode()
    assert history.first().reference in page


def test_a_second_run_adds_more_with_fresh_references_and_event_ids(shop):
    _create("--orders", "5", "--events", "5")
    _create("--orders", "5", "--events", "5")

    assert len(set(Order.objects.values_list("reference", flat=True))) == 10
    assert len(set(PaymentEvent.objects.values_list("provider_event_id", flat=True))) == 10


def test_nothing_for_sale_is_refused(db):
    Product.objects.all().delete()
    with pytest.raises(CommandError, match="seed_shop"):
        _create("--orders", "1")
