"""Fixtures for the purchase-loop tests: a seeded shop without pictures and a shopper."""

import logging
from collections.abc import Iterator

import pytest
from django.db import transaction

from shop.models import Product, ShopPage
from tests.shop.checkout.support import Browser, product, shop_build


@pytest.fixture(scope="module")
def module_db(django_db_setup, django_db_blocker) -> Iterator[None]:
    """One transaction around a test module, rolled back when the module is done.

    What the module's tests share is built once inside it (as TestCase.setUpTestData
    does); each test still runs in its own savepoint, so nothing leaks between tests.
    Building the shop for every test would cost most of the module's run time.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def module_shop(module_db, django_db_blocker) -> int:
    with django_db_blocker.unblock():
        return shop_build().pk


@pytest.fixture
def shop(module_shop: int, db) -> ShopPage:
    return ShopPage.objects.get(pk=module_shop)


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
