"""Fixtures for the purchase-loop tests: a seeded shop without pictures and a shopper."""

import logging
from collections.abc import Iterator

import pytest

from shop.models import Product, ShopPage
from tests.shop.checkout.support import Browser, product


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


@pytest.fixture
def shop_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Records from the ``shop`` loggers, which do not propagate to the root logger."""
    logger = logging.getLogger("shop")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="shop"):
            yield caplog
    finally:
        logger.removeHandler(caplog.handler)
