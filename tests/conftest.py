"""Shared fixtures. Tests run on SQLite by default and on PostgreSQL with DATABASE_URL.

Tests marked ``postgres`` need real row locks: on SQLite they are deselected (reported in
the summary), never silently passed. With CI=true a skipped test fails the run.

Every fixture is defined once, here or in the one conftest or module that uses it
(tests/test_fixtures_defined_once.py checks it); what fixtures build comes from
:mod:`tests.support`.
"""

import logging
import os
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction
from hypothesis import settings

from shop import shop_state
from shop.models import Product, ShopPage
from tests.support.shop import product, shop_build
from tests.support.shopper import Browser
from tests.support.stripe_fake import FakeStripe
from tests.support.stripe_settings import stripe_faked

# Property tests: at least 1,000 examples each in CI, a quicker 100 locally. CI runs the
# suite on SQLite and again on PostgreSQL: the 1,000 are drawn on SQLite, and PostgreSQL
# repeats each property with 200 for what only it checks (column limits, integer ranges,
# NUL characters), so the fuzz suite does not cost twice.
settings.register_profile("ci", max_examples=1000, deadline=None, print_blob=True)
settings.register_profile("ci-postgres", max_examples=200, deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=100, deadline=None)
_CI_PROFILE = "ci-postgres" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "ci"
settings.load_profile(_CI_PROFILE if os.environ.get("CI") == "true" else "dev")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "stripe_settings(**overrides): settings the ``fake`` fixture changes for these tests",
    )


def _on_postgres() -> bool:
    return connection.vendor == "postgresql"


def _refuse_transactional_tests_without_serialized_rollback(items) -> None:
    """A transactional test's flush re-creates content types and permissions unless it restores
    the serialized database; the next test that does restore it then fails on duplicates."""
    careless = [
        item.nodeid
        for item in items
        if (marker := item.get_closest_marker("django_db")) is not None
        and marker.kwargs.get("transaction")
        and not marker.kwargs.get("serialized_rollback")
    ]
    if careless:
        raise pytest.UsageError(
            "transactional tests must say serialized_rollback=True: " + ", ".join(careless)
        )


def pytest_collection_modifyitems(config, items):
    _refuse_transactional_tests_without_serialized_rollback(items)
    if _on_postgres():
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("postgres") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
        config._postgres_deselected = len(dropped)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    deselected = getattr(config, "_postgres_deselected", 0)
    if deselected:
        terminalreporter.write_line(
            f"{deselected} PostgreSQL-only tests deselected on SQLite; "
            "run with DATABASE_URL=postgres://... to include them."
        )


def pytest_sessionfinish(session, exitstatus):
    # In CI a skip hides a missing dependency: count it as a failure.
    if os.environ.get("CI") == "true" and exitstatus == 0:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and reporter.stats.get("skipped"):
            session.exitstatus = 1
            reporter.write_line("CI=true: skipped tests count as failures.", red=True)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache (rate limits, throttles, the catalogue)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _shop_state_bumped_at_the_change(monkeypatch):
    """A test's transaction is rolled back, never committed, so work waiting for the commit
    never runs: the shop's shared version (shop/shop_state.py) is bumped at the change
    itself, as the commit would a moment later. Tests against servers commit for real."""
    monkeypatch.setattr(shop_state, "transaction", SimpleNamespace(on_commit=lambda work: work()))


@pytest.fixture
def seeded_shop(db) -> ShopPage:
    """A fresh database made into a working shop by the real seed command."""
    call_command("seed_shop", stdout=open(os.devnull, "w"))  # noqa: SIM115
    return ShopPage.objects.get()


@pytest.fixture
def products(seeded_shop) -> list[Product]:
    return list(Product.objects.for_sale())


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
    """The seed command's shop without pictures, built once per module (see ``module_db``)."""
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
    """A shopper's browser on the test client; every request commits."""
    return Browser()


@pytest.fixture
def admin_client(client, shop: ShopPage):
    """The test client logged in as a superuser."""
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Iterator[FakeStripe]:
    """A running fake Stripe with the settings pointing at it (PAYMENT_GATEWAY=stripe).

    A module or test changes those settings with ``@pytest.mark.stripe_settings(NAME=value)``
    (the closest mark wins), e.g. to turn the SDK's retries back on.
    """
    marker = request.node.get_closest_marker("stripe_settings")
    with stripe_faked(**(marker.kwargs if marker else {})) as server:
        yield server


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
