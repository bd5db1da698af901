"""The shop page from what each process keeps: exact query counts, fresh tokens per visit,
and every change an editor, a checkout or the clock makes shown on the next visit."""

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from wagtail.models import PageViewRestriction

from home.models import StoreSettings
from shop.models import Order, Product
from shop.product_cards import seconds_until_cards_change
from tests.support.orders import order_create
from tests.support.shopper import Browser, buy_form, checkout_token_in, guest_client, soup_of

pytestmark = pytest.mark.django_db

# Production's cache when no CACHE_URL is set: every cache read is a query.
DATABASE_CACHE = {
    "default": {
        "BACKEND": "site_config.cache.DatabaseCache",
        "LOCATION": "storefront_cache",
    }
}


@pytest.fixture
def database_cache(db):
    """Production's database cache, its table made as ``migrate`` makes it."""
    with override_settings(CACHES=DATABASE_CACHE):
        call_command("createcachetable", verbosity=0)
        yield


def _names(response) -> list[str]:
    return [h.get_text(strip=True) for h in soup_of(response).select(".product-card__name")]


def _csrf_in(response) -> str:
    return soup_of(response).select_one("[data-buy-form] [name=csrfmiddlewaretoken]")["value"]


def test_a_first_visit_asks_the_database_nothing_once_the_page_is_drawn(
    seeded_shop, django_assert_num_queries
):
    Client().get("/")  # the process draws the page once
    with django_assert_num_queries(0):
        first = Client().get("/")
    with django_assert_num_queries(0):
        second = Client().get("/")

    assert first.status_code == second.status_code == 200
    assert len(_names(first)) == 3
    # Each visit gets its own checkout token and CSRF token, and no session.
    assert checkout_token_in(first) != checkout_token_in(second)
    assert _csrf_in(first) != _csrf_in(second)
    assert "sessionid" not in first.cookies


def test_with_the_database_cache_a_first_visit_costs_one_query_the_shops_version(
    seeded_shop, database_cache, django_assert_num_queries
):
    Client().get("/")
    with django_assert_num_queries(1) as captured:
        assert Client().get("/").status_code == 200
    assert "storefront_cache" in captured.captured_queries[0]["sql"]


def test_the_drawn_page_is_a_working_buy_form_with_csrf_checked(seeded_shop, products):
    Client().get("/")
    shopper = Client(enforce_csrf_checks=True)
    page = shopper.get("/")
    form = buy_form(checkout_token_in(page), {products[0]: 2})
    form["csrfmiddlewaretoken"] = _csrf_in(page)

    answer = shopper.post("/checkout/", form)

    assert answer.status_code == 303, answer.content[:300]
    order = Order.objects.get(checkout_token=checkout_token_in(page))
    assert [(line.product_name, line.quantity) for line in order.lines.all()] == [
        (products[0].name, 2)
    ]


def test_a_product_an_editor_renames_shows_on_the_next_visit(seeded_shop, products):
    Client().get("/")
    mug = products[0]
    mug.name = "Big Stoneware Mug"
    mug.save_revision().publish()

    assert "Big Stoneware Mug" in _names(Client().get("/"))


def test_store_settings_saved_show_on_the_next_visit(seeded_shop):
    Client().get("/")
    store = StoreSettings.objects.get()
    store.store_name = "Harbour Goods"
    store.save()

    assert "Harbour Goods" in soup_of(Client().get("/")).title.get_text()


def test_a_restricted_shop_page_is_checked_by_wagtail_on_every_visit(seeded_shop):
    Client().get("/")
    PageViewRestriction.objects.create(
        page=seeded_shop, restriction_type=PageViewRestriction.PASSWORD, password="letmein-123"
    )

    answer = Client().get("/")

    assert answer.status_code == 200
    assert 'name="password"' in answer.content.decode()
    assert _names(answer) == []


def test_an_unpublished_shop_page_is_not_served_from_memory(seeded_shop):
    Client().get("/")
    seeded_shop.unpublish()

    assert Client().get("/").status_code == 404


def test_a_checkout_holding_units_shows_fewer_left_on_the_next_visit(seeded_shop, products):
    mug = products[0]
    mug.stock = 3
    mug.save_revision().publish()
    assert "Only 3 left" in Client().get("/").content.decode()

    browser = Browser()
    browser.buy(browser.page_token(), {mug: 2})

    assert "Only 1 left" in Client().get("/").content.decode()


def test_the_cards_are_drawn_again_when_the_clock_ends_a_hold_or_a_product(seeded_shop, products):
    now = timezone.now()
    assert seconds_until_cards_change(now) == 300  # CATALOGUE_CACHE_SECONDS: nothing sooner

    mug = products[0]
    mug.stock = 5
    mug.save_revision().publish()
    browser = Browser()
    browser.buy(browser.page_token(), {mug: 1})
    held_until = Order.objects.get().lines.get().held_until
    assert seconds_until_cards_change(held_until - dt.timedelta(seconds=50)) == pytest.approx(50)

    Product.objects.filter(pk=products[1].pk).update(expire_at=now + dt.timedelta(seconds=40))
    assert seconds_until_cards_change(now) == pytest.approx(40)


def test_a_signed_in_shopper_never_gets_the_first_visitors_page(seeded_shop):
    Client().get("/")
    member = get_user_model().objects.create_user("ann", "ann@example.com", "pw-long-enough-1")
    client = Client()
    client.force_login(member)

    assert "Signed in as" in client.get("/").content.decode()


def _member_with_orders(count: int, products) -> Client:
    member = get_user_model().objects.create_user("bo", "bo@example.com", "pw-long-enough-1")
    for _ in range(count):
        order_create(user=member, lines=[(products[0], 1), (products[1], 2)])
    client = Client()
    client.force_login(member)
    return client


@pytest.mark.parametrize("orders", [10, 60])
def test_a_shoppers_page_costs_three_queries_however_many_orders(
    seeded_shop, products, orders, django_assert_num_queries
):
    client = _member_with_orders(orders, products)
    client.get("/")  # draws the cards of their ten newest orders
    # The session, the user, their eleven newest orders; the cards come from the cache.
    with django_assert_num_queries(3):
        page = client.get("/")
    assert len(soup_of(page).select(".order__reference")) == 10


def test_with_the_database_cache_a_shoppers_page_costs_five_queries(
    seeded_shop, products, database_cache, django_assert_num_queries
):
    client = _member_with_orders(12, products)
    client.get("/")
    # The shop's version, the session, the user, their orders, and their cards in one read.
    with django_assert_num_queries(5):
        assert client.get("/").status_code == 200


def test_an_orders_card_is_drawn_again_when_the_order_changes(seeded_shop, products):
    order = order_create(
        guest_token="tok-cards",
        status=Order.Status.PENDING,
        returned=True,
        lines=[(products[0], 1)],
    )
    guest = guest_client("tok-cards")
    assert "Awaiting payment confirmation" in guest.get("/").content.decode()

    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)

    assert re.search(r'data-order-status="paid"', guest.get("/").content.decode())


def test_order_history_costs_the_same_for_ten_and_sixty_orders(seeded_shop, products):
    counts = []
    for orders in (10, 60):
        Order.objects.all().delete()
        get_user_model().objects.all().delete()
        client = _member_with_orders(orders, products)
        client.get("/orders/")
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/orders/").status_code == 200
        counts.append(len(captured))
    # The session, the user, the count for the pages, one page of orders.
    assert counts == [4, 4]
