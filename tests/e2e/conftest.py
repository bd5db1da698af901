"""Browser journeys: the real app in a real server process, driven by Debian's Chromium.

The server (``shop_server``) is gunicorn, one worker with two threads, started once per test
session on a free 127.0.0.1 port with its own throwaway SQLite database, migrated and seeded
with ``seed_shop --demo-users``. It is :class:`tests.support.servers.AppServer`: gunicorn with
the project's gunicorn.conf.py as in production, its environment variables overriding what
must differ.

It runs the dev settings with ``DEBUG=true`` because that is what makes a process outside
the test runner serve everything the browser asks for:

- static files: WhiteNoise (in MIDDLEWARE) looks them up through Django's finders when DEBUG
  is on (``WHITENOISE_USE_FINDERS`` defaults to DEBUG), so no collectstatic into the tree;
- media (product images and their renditions): the DEBUG-only ``static()`` pattern in
  ``site_config/urls.py``;
- the local test payment page is enabled, and ``--demo-users`` creates ``editor``/``editor``
  in the Editors group (and ``admin``/``admin``) for the admin journeys.

Its output goes to ``server.log`` beside the database; a failing test shows the lines the
server wrote while it ran. The tests never touch the test database (no ``db`` fixture); they
read the server's database directly with :mod:`sqlite3` when a count says more than the page.

Chromium runs with its back/forward cache on, as shoppers' Chrome does (Playwright turns it
off by default). Without /usr/bin/chromium (``E2E_CHROMIUM`` names another) the tests skip,
naming the install command; with ``CI=true`` they fail instead. ``E2E_SCREENSHOTS=1`` makes
the journeys save screenshots to docs/screenshots/ (``make screenshots``).
"""

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import REPO
from tests.support.servers import AppServer, manage

CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS_DIR = REPO / "docs" / "screenshots"
# Playwright's waits: generous for a shared 2-core machine, short enough to fail fast.
ACTION_TIMEOUT_MS = 15_000
EDITOR = ("editor", "editor")  # created by seed_shop --demo-users (DEBUG only)


def pytest_collection_modifyitems(config, items):
    # The editor journeys change the catalogue (a new price, a new product): run them after
    # the shopper journeys, whose totals assume the seeded prices.
    items.sort(key=lambda item: "test_editor_journeys" in item.nodeid)


@dataclass
class ShopServer:
    url: str
    db_path: Path
    log_path: Path
    env: Mapping[str, str]

    def manage(self, *args: str) -> str:
        """Run a management command against the server's database, as an operator would."""
        return manage(*args, env=self.env, log_path=self.log_path)

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Read the server's database directly (read-only)."""
        connection = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=20)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    def count(self, table: str, where: str = "1=1", params: tuple = ()) -> int:
        return self.query(f"SELECT COUNT(*) FROM {table} WHERE {where}", params)[0][0]  # noqa: S608

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int, max_lines: int = 80) -> str:
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            lines = log.read().decode(errors="replace").splitlines()
        return "\n".join(lines[-max_lines:])


@pytest.fixture(scope="session", autouse=True)
def chromium_executable() -> Path:
    """Debian's Chromium: skip without it locally, fail without it in CI."""
    if CHROMIUM.exists():
        return CHROMIUM
    message = (
        f"{CHROMIUM} not found: the browser tests need Debian's Chromium "
        "(`apt-get install -y chromium`, or `make e2e-deps`)."
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def shop_server(tmp_path_factory, chromium_executable) -> Iterator[ShopServer]:
    """The shop under gunicorn on a free port, with a fresh migrated and seeded database.

    Asks for Chromium first: without a browser there is no point in a server.
    """
    root = tmp_path_factory.mktemp("e2e-server")
    db_path = root / "e2e.sqlite3"
    log_path = root / "server.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "site_config.settings.dev",
        "DEBUG": "true",
        # A throwaway database: durability does not matter, and without fsync the migrations
        # take half the time.
        "DATABASE_URL": f"sqlite:///{db_path}?init_command=PRAGMA%20synchronous%3DOFF",
        "MEDIA_ROOT": str(root / "media"),
        "PAYMENT_GATEWAY": "local",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": "",
        # The database cache, as production: journeys change the shop from other processes
        # (manage.py shell), and the shop's version must reach the server (shop/shop_state.py).
        "CACHE_URL": "",
        "EMAIL_URL": "consolemail://",
        # Every journey comes from 127.0.0.1: the per-address limits would refuse the run.
        "CHECKOUT_RATE_LIMIT": "10000/600",
        "LOGIN_RATE_LIMIT": "10000/600",
        "SIGNUP_RATE_LIMIT": "10000/600",
        "PASSWORD_RESET_RATE_LIMIT": "10000/600",
        "PYTHONUNBUFFERED": "1",
    }
    for name in (
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_API_BASE",
    ):
        env.pop(name, None)

    manage("migrate", "--noinput", env=env, log_path=log_path)
    manage("seed_shop", "--demo-users", env=env, log_path=log_path)
    # One worker for the whole run: its in-memory cache and throttles stay put (AppServer
    # turns off gunicorn's worker recycling).
    with AppServer("e2e", env=env, log_path=log_path, workers=1, threads=2) as server:
        yield ShopServer(url=server.url, db_path=db_path, log_path=log_path, env=env)


@pytest.fixture(autouse=True)
def _server_log_on_failure(request, shop_server):
    """Remember where the server log stood, so a failure can show what the server said."""
    request.node._e2e_log = (shop_server, shop_server.log_size())
    yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    mark = getattr(item, "_e2e_log", None)
    if report.failed and mark is not None:
        server, offset = mark
        report.sections.append(("e2e server log during this test", server.log_since(offset)))
    return report


@pytest.fixture(scope="session")
def chromium(chromium_executable):
    """Chromium under Playwright, one for the session; ``new_context`` opens shoppers in it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(chromium_executable),
            headless=True,
            args=CHROMIUM_ARGS,
            # Playwright turns the back/forward cache off; shoppers' Chrome has it on, and
            # the back-button journey is about what they get.
            ignore_default_args=["--disable-back-forward-cache"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(chromium, shop_server):
    """Open a fresh browser context (a separate shopper); all are closed after the test."""
    from playwright.sync_api import expect

    expect.set_options(timeout=ACTION_TIMEOUT_MS)
    contexts = []

    def open_context(**options):
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = chromium.new_context(base_url=shop_server.url, **options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        with contextlib.suppress(Exception):
            context.close()


@pytest.fixture
def page(new_context):
    """A page in a fresh context: a new guest shopper with JavaScript on, 1280 px wide."""
    return new_context().new_page()


@pytest.fixture
def save_screenshot():
    """Save a screenshot to docs/screenshots/<name>.png, only when E2E_SCREENSHOTS=1."""

    def save(page, name: str, *, full_page: bool = True) -> None:
        if os.environ.get("E2E_SCREENSHOTS") != "1":
            return
        from PIL import Image

        SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS_DIR / f"{name}.png"
        page.evaluate("() => document.activeElement?.blur()")  # no focus ring in the picture
        page.screenshot(path=str(path), full_page=full_page)
        # A 256-colour palette keeps a page picture about a third of the size, committed.
        with Image.open(path) as shot:
            palette = shot.convert("RGB").quantize(colors=256)
        palette.save(path, optimize=True)

    return save
