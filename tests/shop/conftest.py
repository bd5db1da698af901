"""Fixtures the shop's tests share: an order placed by a shopper, an editor in the admin, the
shop committed for concurrency tests' threads."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from shop.models import Order, Product, ShopPage
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
