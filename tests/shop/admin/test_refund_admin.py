"""Refunding from an order's admin page: Managers only, the local gateway's events through
the real webhook, the refund listed on the page and its entries on the timeline."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from shop.models import Order, OrderEvent, Product, Refund, Source
from shop.payments.local import LocalGateway
from shop.payments.stripe_json import session_from_dict
from shop.services.fulfilment import order_fulfil
from shop.services.staff import FULFILMENT_GROUP
from shop.stock import stock_level
from tests.support.orders import order_paid_at_gateway
from tests.support.shopper import soup_of, text_of

pytestmark = pytest.mark.django_db


def staff(name: str, group: str | None):
    user = get_user_model().objects.create_user(name, f"{name}@example.com", "pw")
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def paid_on_local_gateway(quantities: dict[str, int]) -> Order:
    order, paid = order_paid_at_gateway(quantities)

    order_fulfil(session=session_from_dict(paid), source=Source.success_page())
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def refund_url(order: Order) -> str:
    return reverse("orders:refund", args=[order.pk])


def inspect_url(order: Order) -> str:
    return reverse("orders:inspect", args=[order.pk])


def form_data(client, order: Order, **fields) -> dict:
    page = client.get(refund_url(order))
    token = soup_of(page).select_one("input[name=token]")["value"]
    return {"token": token, "what": "whole", "reason": "requested_by_customer", **fields}


def test_a_manager_refunds_one_line_and_sees_it_on_the_page_and_timeline(manager_client):
    order = paid_on_local_gateway({"stoneware-mug": 1, "canvas-tote": 2})
    tote = order.lines.get(product_name="Canvas Tote")

    page = manager_client.get(inspect_url(order))
    assert soup_of(page).select_one("[data-refund-button]") is not None

    data = form_data(manager_client, order, what="lines", **{f"qty_{tote.pk}": "1"})
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = manager_client.post(refund_url(order), data)

    assert response.status_code == 302 and response["Location"] == inspect_url(order)
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == ("partially_refunded", tote.unit_amount)
    (refund,) = order.refunds.all()
    assert (refund.status, refund.lines_text) == ("succeeded", "Canvas Tote × 1")
    assert refund.requested_by.username == "meg"
    page = manager_client.get(inspect_url(order), follow=True)
    listed = soup_of(page).select_one("[data-order-refunds]").get_text(" ", strip=True)
    assert "Canvas Tote × 1" in listed and "Succeeded" in listed and "meg" in listed
    kinds = [row["data-timeline-kind"] for row in soup_of(page).select("[data-timeline-kind]")]
    assert kinds.count("refund_requested") == 1 and kinds.count("refund_succeeded") == 1
    assert "Partially refunded" in text_of(page)


def test_a_double_submit_makes_one_refund(manager_client):
    order = paid_on_local_gateway({"stoneware-mug": 1})
    data = form_data(manager_client, order, what="amount", amount="5.00")

    first = manager_client.post(refund_url(order), data)
    second = manager_client.post(refund_url(order), data)

    assert first.status_code == second.status_code == 302
    assert Refund.objects.filter(order=order).count() == 1
    order.refresh_from_db()
    assert order.amount_refunded == 500


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"what": "amount", "amount": "0"}, "Refund more than zero."),
        ({"what": "amount", "amount": "999.00"}, "more than is left to refund"),
        ({"what": "amount", "amount": "lots"}, "Enter an amount"),
        ({"what": "lines"}, "Choose at least one unit"),
        ({"reason": "because"}, "Select a valid choice"),
    ],
)
def test_a_refused_refund_is_a_400_with_its_reason_and_changes_nothing(
    manager_client, fields, message
):
    order = paid_on_local_gateway({"stoneware-mug": 1})
    before = list(order.timeline.values_list("pk", flat=True))

    response = manager_client.post(refund_url(order), form_data(manager_client, order, **fields))

    assert response.status_code == 400
    assert message in text_of(response)
    assert not Refund.objects.exists()
    assert list(order.timeline.values_list("pk", flat=True)) == before


def test_a_pending_order_cannot_be_refunded(manager_client, mug):
    from tests.support.orders import order_checkout

    order, _ = order_checkout({mug: 1})

    page = manager_client.get(inspect_url(order))
    response = manager_client.post(refund_url(order), form_data(manager_client, order))

    assert soup_of(page).select_one("[data-refund-button]") is None
    assert response.status_code == 400 and "Only a paid order" in text_of(response)


@pytest.mark.parametrize("group", ["Editors", FULFILMENT_GROUP])
def test_without_the_permission_no_button_and_403(client, shop, group):
    order = paid_on_local_gateway({"stoneware-mug": 1})
    client.force_login(staff("ed", group))

    page = client.get(inspect_url(order))
    form = client.get(refund_url(order))
    posted = client.post(refund_url(order), {"what": "whole", "reason": "other"})

    assert page.status_code == 200
    assert soup_of(page).select_one("[data-refund-button]") is None
    assert form.status_code == posted.status_code == 403
    assert not Refund.objects.exists()


def test_restocked_units_are_on_sale_again_once_the_refund_succeeded(manager_client, shop):
    Product.objects.filter(slug="stoneware-mug").update(stock=5)
    order = paid_on_local_gateway({"stoneware-mug": 2})
    mug = order.lines.get()
    assert stock_level(mug.product_id).available == 3

    data = form_data(manager_client, order, what="lines", restock="on", **{f"qty_{mug.pk}": "1"})
    manager_client.post(refund_url(order), data)

    assert stock_level(mug.product_id).available == 4
    assert stock_level(mug.product_id).sold == 1
    entry = order.timeline.get(kind=OrderEvent.Kind.STOCK_RETURNED)
    assert entry.message == "Returned to stock: Stoneware Mug × 1"
    # Asked again with its key (reconciliation): the same refund, no unit comes back twice.
    refund = order.refunds.get()
    from shop.services.refunds import refund_ask

    refund_ask(refund, gateway=LocalGateway())
    assert stock_level(mug.product_id).available == 4
    assert order.refunds.count() == 1


def test_the_dashboards_revenue_counts_a_partially_refunded_order_less_its_refund(
    manager_client,
):
    from shop.selectors import order_sales_since

    order = paid_on_local_gateway({"stoneware-mug": 1, "canvas-tote": 2})
    manager_client.post(
        refund_url(order), form_data(manager_client, order, what="amount", amount="7.00")
    )

    sales = order_sales_since(timezone.now() - dt.timedelta(days=1))

    assert sales.orders == 1
    assert sales.totals == {"usd": order.amount_total - 700}


def test_stripe_down_or_refusing_the_manager_reads_why_and_nothing_is_refunded(
    manager_client, fake, mug
):
    from django.contrib.messages import get_messages

    from tests.support.refunds import order_paid_at_fake

    order = order_paid_at_fake(fake, {mug: 1})
    fake.refuse_connections()
    response = manager_client.post(
        refund_url(order), form_data(manager_client, order, what="amount", amount="3.00")
    )
    down = [str(m) for m in get_messages(response.wsgi_request)]

    fake.accept_connections()
    fake.inject_fault(400, message="Charge ch_x has been disputed.")
    response = manager_client.post(
        refund_url(order), form_data(manager_client, order, what="amount", amount="2.00")
    )
    refused = [str(m) for m in get_messages(response.wsgi_request)]

    assert down == [
        "Refund of $3.00 pending: The payment service could not be reached; the refund is "
        "pending and will be retried automatically."
    ]
    assert refused == [
        "The refund of $2.00 failed: The payment provider refused the refund: "
        "Charge ch_x has been disputed."
    ]
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == ("paid", 0)
    assert sorted(order.refunds.values_list("status", flat=True)) == ["failed", "pending"]
    page = text_of(manager_client.get(inspect_url(order)))
    assert "The payment provider refused the refund" in page
