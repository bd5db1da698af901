"""Fixtures for the purchase-loop tests: a seeded shop without pictures and a shopper."""

import pytest

from shop.models import Product, ShopPage
from tests.support.shop import product
from tests.support.shopper import Browser


@pytest.fixture
def mug(shop: ShopPage) -> Product:
    return product("stoneware-mug")


@pytest.fixture
def tote(shop: ShopPage) -> Product:
    return product("canvas-tote")


@pytest.fixture
def notebook(shop: ShopPage) -> Product:
    return product("dot-grid-notebook")


@pytest.fixture
def browser() -> Browser:
    return Browser()
