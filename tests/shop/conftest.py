"""Fixtures the shop's tests share: an order placed by a shopper, a paid order to ship, an
editor in the admin, the shop committed for concurrency tests' threads, and a migration
executor for the migration tests."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from shop.models import Order, Product, ShopPage
from tests.support.orders import SHIP_TO, order_make
from tests.support.shop import product, shop_build
from tests.support.shopper import Browser


@pytest.fixture
def order(browser: Browser, mug: Product, tote: Product) -> Order:
    """A pending order with an open checkout session, placed by ``browser``'s shopper."""
    response = browser.buy(browser.page_token(), {mug: 1, tote: 2})
    assert response.status_code == 303
    return Order.objects.get()


@pytest.fixture
def committed_shop(transactional_db) -> list[Product]:
    """The picture-less shop committed for real threads to see; its mug and tote."""
    shop_build()
    return [product("stoneware-mug"), product("canvas-tote")]


@pytest.fixture
def editor(shop: ShopPage):
    """A user in the seeded Editors group."""
    user = get_user_model().objects.create_user("ed", "ed@example.com", "pw")
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def editor_client(client, editor):
    """The test client logged in as ``editor``."""
    client.force_login(editor)
    return client


@pytest.fixture
def paid_to_ship(db) -> Order:
    """A paid order with an address and two lines (2 mugs, 1 tote), not shipped yet."""
    return order_make(
        status=Order.Status.PAID,
        lines=(("Stoneware Mug", 1800, 2), ("Canvas Tote", 2450, 1)),
        email="ada@example.com",
        shipping=SHIP_TO,
        amount_shipping=495,
    )


@pytest.fixture
def executor():
    """Migrates the test database to any state; afterwards back to the latest migrations."""
    executor = MigrationExecutor(connection)
    yield executor
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
