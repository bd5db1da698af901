"""My orders: each shopper sees exactly their own orders, on the page, in history, in detail."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from shop.models import Order, Source
from shop.order_links import order_signed_url
from shop.payments.base import CheckoutSession
from shop.services import fulfilment
from tests.support.orders import order_create
from tests.support.shopper import guest_client

pytestmark = pytest.mark.django_db

LOGIN_PAGE = "/accounts/login/"


def _references(response) -> list[str]:
    soup = BeautifulSoup(response.content, "html.parser")
    return [h.get_text(strip=True).removeprefix("Order ") for h in soup.select(".order__reference")]


def _member(email: str) -> tuple[Client, object]:
    user = get_user_model().objects.create_user(email, email, "pw-long-enough-1")
    client = Client()
    client.force_login(user)
    return client, user


def test_orders_are_listed_newest_first_with_lines_total_and_status_words(seeded_shop, products):
    client, user = _member("ann@example.com")
    mug, tote = products[0], products[1]
    first = order_create(user=user, lines=[(mug, 2), (tote, 1)])
    second = order_create(user=user, status=Order.Status.REFUNDED)

    response = client.get("/")

    assert _references(response) == [second.reference, first.reference]
    soup = BeautifulSoup(response.content, "html.parser")
    entry = soup.find(id=f"order-{first.reference}").find_parent("article")
    text = entry.get_text(" ", strip=True)
    assert "Stoneware Mug × 2" in text and "Canvas Tote × 1" in text
    assert "$60.50" in text and "Paid" in text
    assert "Refunded" in soup.find(id=f"order-{second.reference}").find_parent("article").text


@pytest.mark.parametrize(
    ("status", "returned", "shown", "words"),
    [
        (Order.Status.PAID, True, True, "Paid"),
        (Order.Status.PENDING, True, True, "Awaiting payment confirmation"),
        (Order.Status.PENDING, False, False, None),
        (Order.Status.FAILED, True, True, "Payment failed"),
        (Order.Status.REFUNDED, True, True, "Refunded"),
        (Order.Status.CANCELED, True, False, None),
        (Order.Status.EXPIRED, True, False, None),
    ],
)
def test_which_orders_are_listed_and_in_what_words(seeded_shop, status, returned, shown, words):
    client, user = _member("ann@example.com")
    order = order_create(user=user, status=status, returned=returned)

    response = client.get("/")

    assert (order.reference in _references(response)) is shown
    if shown:
        soup = BeautifulSoup(response.content, "html.parser")
        badge = (
            soup.find(id=f"order-{order.reference}").find_parent("article").select_one(".status")
        )
        assert badge.get_text(strip=True) == words


def test_signed_in_shoppers_never_see_each_others_orders(seeded_shop):
    ann, ann_user = _member("ann@example.com")
    bob, bob_user = _member("bob@example.com")
    ann_order = order_create(user=ann_user)
    bob_order = order_create(user=bob_user)

    assert _references(ann.get("/")) == [ann_order.reference]
    assert _references(bob.get("/orders/")) == [bob_order.reference]
    assert bob.get(f"/orders/{ann_order.reference}/").status_code == 404
    assert bob.get(f"/orders/{ann_order.reference}/status/").status_code == 404
    assert ann.get(f"/orders/{ann_order.reference}/").status_code == 200


def test_guests_never_see_each_others_orders(seeded_shop):
    one, two = guest_client("guest-token-one"), guest_client("guest-token-two")
    mine = order_create(guest_token="guest-token-one")
    theirs = order_create(guest_token="guest-token-two")

    assert _references(one.get("/")) == [mine.reference]
    assert _references(two.get("/")) == [theirs.reference]
    assert one.get(f"/orders/{theirs.reference}/").status_code == 404
    assert _references(Client().get("/")) == []
    assert Client().get(f"/orders/{mine.reference}/").status_code == 404


def test_guest_and_member_never_see_each_others_orders(seeded_shop):
    guest = guest_client("guest-token-one")
    member, user = _member("ann@example.com")
    guest_order = order_create(guest_token="guest-token-one")
    member_order = order_create(user=user)

    assert _references(guest.get("/")) == [guest_order.reference]
    assert _references(member.get("/")) == [member_order.reference]
    # A member's order: a logged-out visitor is asked to log in (as its owner would be).
    assert guest.get(f"/orders/{member_order.reference}/")["Location"].startswith(LOGIN_PAGE)
    assert member.get(f"/orders/{guest_order.reference}/").status_code == 404


# -- the signed link in the confirmation e-mail, and logging in to see an order ----------


def _key_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["key"][0]


def test_signed_link_opens_its_order_read_only_without_logging_in(seeded_shop):
    order = order_create(guest_token="guest-token-one", email="ada@example.com")
    path = urlsplit(order_signed_url(order))
    other_device = Client()

    response = other_device.get(f"{path.path}?{path.query}")

    assert response.status_code == 200
    page = BeautifulSoup(response.content, "html.parser")
    assert page.h1.get_text(strip=True) == f"Order {order.reference}"
    assert order.lines.get().product_name in page.get_text()
    assert "All my orders" not in page.get_text()
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"


def test_signed_link_opens_no_other_order_and_a_tampered_key_nothing(seeded_shop):
    mine = order_create(guest_token="guest-token-one")
    theirs = order_create(guest_token="guest-token-two")
    key = _key_of(order_signed_url(mine))
    stranger = Client()

    assert stranger.get(f"/orders/{theirs.reference}/", {"key": key}).status_code == 404
    assert stranger.get(f"/orders/{mine.reference}/", {"key": key[:-1] + "x"}).status_code == 404
    assert stranger.get(f"/orders/{mine.reference}/", {"key": ""}).status_code == 404


@override_settings(ORDER_LINK_MAX_AGE_DAYS=30)
def test_signed_link_stops_working_after_its_max_age(seeded_shop, monkeypatch):
    order = order_create(guest_token="guest-token-one")
    path = urlsplit(order_signed_url(order))
    url = f"{path.path}?{path.query}"
    now = time.time()

    monkeypatch.setattr(time, "time", lambda: now + 29 * 86400)
    assert Client().get(url).status_code == 200
    monkeypatch.setattr(time, "time", lambda: now + 31 * 86400)
    assert Client().get(url).status_code == 404


def test_logged_out_owner_is_sent_to_log_in_and_then_to_the_order(seeded_shop):
    user = get_user_model().objects.create_user("ann@example.com", "ann@example.com", "pw-long-1")
    order = order_create(user=user)
    order_page = f"/orders/{order.reference}/"
    browser = Client()

    response = browser.get(order_page)

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN_PAGE}?next={order_page}"
    logged_in = browser.post(
        response["Location"], {"username": "ann@example.com", "password": "pw-long-1"}
    )
    assert logged_in["Location"] == order_page
    assert order.reference in browser.get(order_page).content.decode()


def test_a_signed_in_stranger_gets_no_login_prompt_only_a_404(seeded_shop):
    owner = get_user_model().objects.create_user("ann@example.com", "ann@example.com", "pw-1-ab")
    order = order_create(user=owner)
    stranger, _ = _member("bob@example.com")

    assert stranger.get(f"/orders/{order.reference}/").status_code == 404
    assert Client().get("/orders/ZZZZ-ZZZZ/").status_code == 404


def test_a_guests_session_orders_move_to_the_account_on_log_in(seeded_shop):
    get_user_model().objects.create_user("ann@example.com", "ann@example.com", "pw-long-1234")
    guest = guest_client("guest-token-one")
    order = order_create(guest_token="guest-token-one")
    same_email_elsewhere = order_create(guest_token="someone-else", email="ann@example.com")

    guest.post("/accounts/login/", {"username": "ann@example.com", "password": "pw-long-1234"})

    order.refresh_from_db()
    assert order.user.email == "ann@example.com"
    other_device = Client()
    other_device.login(username="ann@example.com", password="pw-long-1234")
    assert _references(other_device.get("/")) == [order.reference]
    same_email_elsewhere.refresh_from_db()
    assert same_email_elsewhere.user is None  # not claimed by typing an e-mail


def test_a_guests_session_orders_move_to_the_account_on_sign_up(seeded_shop):
    guest = guest_client("guest-token-one")
    order = order_create(guest_token="guest-token-one")

    guest.post(
        "/accounts/signup/",
        {"email": "new@example.com", "password1": "pw-long-1234", "password2": "pw-long-1234"},
    )

    order.refresh_from_db()
    assert order.user.email == "new@example.com"
    assert _references(guest.get("/")) == [order.reference]


def test_shop_page_lists_ten_and_links_to_paginated_history(seeded_shop):
    client, user = _member("ann@example.com")
    orders = [order_create(user=user) for _ in range(25)]

    page = client.get("/")
    assert len(_references(page)) == 10
    assert 'href="/orders/"' in page.content.decode()

    first = _references(client.get("/orders/"))
    second = _references(client.get("/orders/", {"page": 2}))
    third = _references(client.get("/orders/", {"page": 3}))
    assert len(first) == 20 and len(second) == 5
    assert third == second  # out of range: the last page
    assert set(first + second) == {order.reference for order in orders}


def test_detail_page_shows_lines_totals_status_and_dates(seeded_shop, products):
    client, user = _member("ann@example.com")
    order = order_create(user=user, lines=[(products[0], 3)])

    body = client.get(f"/orders/{order.reference.lower()}/").content.decode()

    assert order.reference in body and "Stoneware Mug" in body
    assert "$54.00" in body and "Paid" in body and "Placed" in body


def test_detail_page_lists_when_the_order_was_placed_and_paid_and_nothing_internal(
    seeded_shop, products
):
    client, user = _member("ann@example.com")
    order = order_create(user=user, status=Order.Status.PENDING, returned=False)
    webhook = Source.provider_event("evt_declined")
    fulfilment.order_decline(
        order_reference=order.reference, reason="Card declined.", source=webhook
    )
    fulfilment.order_mark_returned(order=order, source=Source.success_page())
    paid = CheckoutSession(
        id=order.payment_session_id,
        url=None,
        status="complete",
        payment_status="paid",
        amount_total=order.amount_total,
        currency=order.currency,
        client_reference_id=order.reference,
        payment_id="pi_ann",
        customer_email="ann@example.com",
    )
    fulfilment.order_fulfil(session=paid, source=Source.provider_event("evt_paid"))

    page = BeautifulSoup(client.get(f"/orders/{order.reference}/").content, "html.parser")

    timeline = page.select_one("[data-order-timeline]")
    assert [dt.get_text(strip=True) for dt in timeline.find_all("dt")] == ["Placed", "Paid"]
    assert all(dd.find("time")["datetime"] for dd in timeline.find_all("dd"))
    text = page.get_text(" ", strip=True)
    assert "evt_" not in text and "pi_ann" not in text and "Card declined" not in text


def test_status_endpoint_reports_a_pending_order_settling(seeded_shop):
    client, user = _member("ann@example.com")
    order = order_create(user=user, status=Order.Status.PENDING)
    assert client.get(f"/orders/{order.reference}/status/").json()["status"] == "pending"

    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)

    assert client.get(f"/orders/{order.reference}/status/").json() == {
        "reference": order.reference,
        "status": "paid",
        "label": "Paid",
    }


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", ["/", "/orders/", "detail"])
def test_query_count_does_not_grow_with_orders_or_lines(seeded_shop, products, url):
    client, user = _member("ann@example.com")
    first = order_create(user=user, lines=[(products[0], 1)])
    target = f"/orders/{first.reference}/" if url == "detail" else url
    _queries(client, target)  # warm per-process caches (site root paths, content types)
    with_one = _queries(client, target)

    for _ in range(199):
        order_create(user=user, lines=[(p, 2) for p in products])
    _queries(client, target)  # draws the new orders' cards (their lines read once)
    with_many = _queries(client, target)

    assert with_many == with_one, (with_one, with_many)
