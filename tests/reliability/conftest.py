"""The shop cluster for the server tests: two gunicorn servers, one database, the fake Stripe.

Built once per test session (migrating a PostgreSQL database costs up to a minute on a
busy machine) and shared by the server tests, which each work on orders of their own and
count by order reference, so they do not see each other. Only tests that ask for
``cluster`` build it; they are marked ``postgres`` and deselected on SQLite.
"""

import os
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from django.conf import settings

from tests.reliability.cluster import STRIPE_SECRET_KEY, WEBHOOK_SECRET, ShopCluster
from tests.support.servers import AppServer, Outbox, ServerDatabase, manage, server_environment
from tests.support.stripe_fake import FakeStripe

# Each server: two worker processes of four threads, so requests race across processes
# and within one; four processes in all is what two cores carry without thrashing.
WORKERS = 2
THREADS = 4


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopCluster]:
    root = tmp_path_factory.mktemp("reliability")
    mail_dir = root / "mail"
    mail_dir.mkdir()
    ours = settings.DATABASES["default"]
    database = ServerDatabase(
        # The pid keeps parallel runs (xdist workers, other engineers) apart.
        name=f"storefront_reliability_{os.getpid()}",
        host=ours["HOST"],
        port=ours["PORT"],
        user=ours["USER"],
        password=ours["PASSWORD"],
    )
    with ExitStack() as stack:
        fake = stack.enter_context(FakeStripe())
        database.create()
        stack.callback(database.drop)
        env = server_environment(
            DATABASE_URL=database.url,
            EMAIL_FILE_PATH=str(mail_dir),
            MEDIA_ROOT=str(root / "media"),
            PAYMENT_GATEWAY="stripe",
            STRIPE_SECRET_KEY=STRIPE_SECRET_KEY,
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            STRIPE_API_BASE=fake.url,
            # Both servers build the same return URLs, as behind one load balancer; the
            # idempotency key requires a retry on the other server to send the same ones.
            SITE_URL="http://shop.reliability.test",
        )
        setup_log = root / "setup.log"
        # The test run's own checks already ran; each command repeating them costs seconds.
        manage("migrate", "--noinput", "--skip-checks", env=env, log_path=setup_log)
        manage("seed_shop", "--skip-checks", env=env, log_path=setup_log)
        servers = tuple(
            AppServer(
                name, env=env, log_path=root / f"{name}.log", workers=WORKERS, threads=THREADS
            )
            for name in ("server-a", "server-b")
        )
        stack.callback(_stop_all, servers)
        for server in servers:
            server.launch()
        for server in servers:
            server.wait_ready()
        yield ShopCluster(
            servers=servers, database=database, outbox=Outbox(mail_dir), fake=fake, env=env
        )


def _stop_all(servers: tuple[AppServer, ...]) -> None:
    for server in servers:
        server.request_stop()
    for server in servers:
        server.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failing server test shows the end of each server's log."""
    report = yield
    cluster = getattr(item, "funcargs", {}).get("cluster")
    if report.failed and isinstance(cluster, ShopCluster):
        for server in cluster.servers:
            report.sections.append((f"{server.name} log (end)", server.log_tail(80)))
    return report
