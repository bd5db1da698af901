"""The order actions in the admin, as the seeded groups see them: Managers cancel, resend and
note; Fulfilment notes; Editors do none of it. A URL without its permission is a 403 (not a
redirect) and changes nothing; actions are POST only and CSRF-checked."""

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client, TestCase
from django.urls import reverse

from shop.models import Order, OrderEvent, Product
from shop.services import fulfilment
from shop.services.staff import MANAGERS_GROUP
from tests.support.orders import order_checkout, order_make, session_reported

pytestmark = pytest.mark.django_db

S = Order.Status
K = OrderEvent.Kind
ACTIONS = {
    "cancel": "orders:cancel",
    "resend": "orders:resend_confirmation",
    "note": "orders:add_note",
}


def pending_order() -> Order:
    order, _ = order_checkout({Product.objects.get(slug="stoneware-mug"): 1})
    return order


def paid_order() -> Order:
    """Paid, its automatic confirmation sent to ada@example.com."""
    order = pending_order()
    with TestCase.captureOnCommitCallbacks(execute=True):
        fulfilment.order_fulfil(
            session=session_reported(order, paid=True), source=fulfilment.Source.system()
        )
    order.refresh_from_db()
    mail.outbox.clear()
    return order


def inspect(client: Client, order: Order) -> BeautifulSoup:
    response = client.get(reverse("orders:inspect", args=[order.pk]))
    assert response.status_code == 200
    return BeautifulSoup(response.content, "html.parser")


def offered(page: BeautifulSoup) -> set[str]:
    return {form["data-order-action"] for form in page.select("[data-order-action]")}


def messages_of(page: BeautifulSoup) -> str:
    return " ".join(li.get_text(" ", strip=True) for li in page.select(".messages li"))


def post(client: Client, action: str, order: Order, data=None):
    return client.post(reverse(ACTIONS[action], args=[order.pk]), data or {}, follow=True)


# -- who sees which button --------------------------------------------------------------


def test_a_manager_is_offered_cancel_on_a_pending_order_and_resend_on_a_paid_one(
    manager_client,
):
    assert offered(inspect(manager_client, pending_order())) == {"cancel", "note"}
    assert offered(inspect(manager_client, paid_order())) == {"resend", "note"}


def test_fulfilment_is_offered_only_the_note(fulfilment_client):
    assert offered(inspect(fulfilment_client, pending_order())) == {"note"}
    assert offered(inspect(fulfilment_client, paid_order())) == {"note"}


def test_an_editor_is_offered_no_action(editor_client):
    for order in (pending_order(), paid_order()):
        page = inspect(editor_client, order)
        assert offered(page) == set()
        assert page.select("[data-order-actions]") == []


# -- 403 without the permission, POST only, CSRF ----------------------------------------


@pytest.mark.parametrize(
    ("who", "action"),
    [
        ("editor_client", "cancel"),
        ("editor_client", "resend"),
        ("editor_client", "note"),
        ("fulfilment_client", "cancel"),
        ("fulfilment_client", "resend"),
    ],
)
def test_an_action_without_its_permission_is_403_and_changes_nothing(request, who, action):
    client = request.getfixturevalue(who)
    order = pending_order() if action == "cancel" else paid_order()
    entries = order.timeline.count()

    response = client.post(reverse(ACTIONS[action], args=[order.pk]), {"text": "hello"})

    assert response.status_code == 403
    assert b"does not have the permission" in response.content
    order.refresh_from_db()
    assert order.status in (S.PENDING, S.PAID)
    assert order.timeline.count() == entries
    assert mail.outbox == []


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_an_action_asked_for_with_get_is_refused_and_changes_nothing(manager_client, action):
    order = paid_order()
    entries = order.timeline.count()

    response = manager_client.get(reverse(ACTIONS[action], args=[order.pk]))

    assert response.status_code == 405
    assert order.timeline.count() == entries


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_an_action_without_the_csrf_token_is_refused(shop, action):
    client = Client(enforce_csrf_checks=True)
    user = get_user_model().objects.create_user("meg", "meg@example.com", "pw")
    user.groups.add(Group.objects.get(name=MANAGERS_GROUP))
    client.force_login(user)
    order = pending_order()
    entries = order.timeline.count()

    response = client.post(reverse(ACTIONS[action], args=[order.pk]), {"text": "hi"})

    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == S.PENDING
    assert order.timeline.count() == entries


def test_an_action_on_an_order_that_does_not_exist_is_404(manager_client):
    response = manager_client.post(reverse("orders:add_note", args=[999_999]), {"text": "x"})

    assert response.status_code == 404


# -- what a manager sees after each action ------------------------------------------------


def test_a_manager_cancels_a_pending_order_and_reads_it_on_the_timeline(manager_client):
    order = pending_order()

    response = post(manager_client, "cancel", order)

    page = BeautifulSoup(response.content, "html.parser")
    assert response.redirect_chain[-1][0] == reverse("orders:inspect", args=[order.pk])
    assert f"Order {order.reference} canceled" in messages_of(page)
    order.refresh_from_db()
    assert order.status == S.CANCELED
    rows = [row.get_text(" ", strip=True) for row in page.select("[data-order-timeline] tbody tr")]
    assert any("Pending → Canceled" in row and "Admin user meg" in row for row in rows)
    assert "cancel" not in offered(page)


def test_a_manager_asking_to_cancel_a_paid_order_reads_why_not(manager_client):
    order = paid_order()

    response = post(manager_client, "cancel", order)

    assert "only a pending, unpaid order can be canceled" in messages_of(
        BeautifulSoup(response.content, "html.parser")
    )
    order.refresh_from_db()
    assert order.status == S.PAID


def test_a_manager_resends_the_confirmation_once_even_when_submitting_twice(manager_client):
    order = paid_order()

    with TestCase.captureOnCommitCallbacks(execute=True):
        first = post(manager_client, "resend", order)
    with TestCase.captureOnCommitCallbacks(execute=True):
        second = post(manager_client, "resend", order)

    assert "is being sent again" in messages_of(BeautifulSoup(first.content, "html.parser"))
    assert "already asked for" in messages_of(BeautifulSoup(second.content, "html.parser"))
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    page = inspect(manager_client, order)
    kinds = [row["data-timeline-kind"] for row in page.select("[data-order-timeline] tbody tr")]
    assert kinds.count(K.EMAIL_RESEND_REQUESTED) == 1
    assert kinds[-2:] == [K.EMAIL_RESEND_REQUESTED, K.EMAIL_SENT]


@pytest.mark.parametrize("who", ["manager_client", "fulfilment_client"])
def test_staff_add_a_note_shown_escaped_with_its_author(request, who):
    client = request.getfixturevalue(who)
    order = paid_order()

    response = post(client, "note", order, {"text": "<script>alert(1)</script> call back"})

    assert response.status_code == 200
    assert b"<script>alert(1)</script>" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt; call back" in response.content
    page = BeautifulSoup(response.content, "html.parser")
    (row,) = page.select(f"[data-timeline-kind={K.NOTE}]")
    username = "meg" if who == "manager_client" else "fred"
    assert f"Admin user {username}" in row.get_text(" ", strip=True)
    assert "Note added" in messages_of(page)


@pytest.mark.parametrize("text", ["", "    ", "z" * 256])
def test_a_blank_or_overlong_note_is_refused_with_a_message(manager_client, text):
    order = paid_order()

    response = post(manager_client, "note", order, {"text": text})

    message = messages_of(BeautifulSoup(response.content, "html.parser"))
    assert "empty note" in message or "at most 255 characters" in message
    assert not order.timeline.filter(kind=K.NOTE).exists()


def test_a_superuser_holds_every_action(admin_client):
    assert offered(inspect(admin_client, pending_order())) == {"cancel", "note"}
    order = order_make(status=S.PAID, email="ada@example.com")
    assert offered(inspect(admin_client, order)) == {"resend", "note"}


def test_the_order_view_lists_the_tax_and_whether_prices_included_it(admin_client):
    order = order_make(status=Order.Status.PAID)
    Order.objects.filter(pk=order.pk).update(amount_tax=300, tax_behavior="inclusive")

    text = inspect(admin_client, order).get_text(" ", strip=True)

    assert "Tax $3.00 (included in the prices)" in text
