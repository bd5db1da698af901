"""Limits hold across servers and workers: two gunicorn servers of three workers each.

Every request comes from 127.0.0.1 and alternates between the servers, so each limit is
reached only if all six workers count in one place: the default cache, which is the
database's, as deployed without CACHE_URL. Built on the shared cluster's database (already
migrated and seeded); these servers differ only in having the limits on.
"""

import re
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
import requests

from tests.reliability.cluster import REQUEST_TIMEOUT, RemoteShopper, ShopCluster
from tests.support.servers import AppServer, manage
from tests.support.threads import together

pytestmark = pytest.mark.postgres

WORKERS = 3
# Long windows: a window ending mid-test would start the count again.
CHECKOUTS_ALLOWED = 30
RESETS_PER_EMAIL = 3
FAILURES_PER_ACCOUNT = 5  # accounts/throttle.py
ADMIN = ("limits-boss", "limits-boss@example.com", "a-long-admin-secret-71")


@pytest.fixture(scope="module")
def limited(cluster: ShopCluster, tmp_path_factory) -> Iterator[tuple[AppServer, AppServer]]:
    root = tmp_path_factory.mktemp("limits")
    env = {
        **cluster.servers[0].env,
        "CHECKOUT_RATE_LIMIT": f"{CHECKOUTS_ALLOWED}/86400",
        "PASSWORD_RESET_EMAIL_RATE_LIMIT": f"{RESETS_PER_EMAIL}/86400",
    }
    username, email, password = ADMIN
    manage(
        "createsuperuser",
        "--noinput",
        "--skip-checks",
        f"--username={username}",
        f"--email={email}",
        env={**env, "DJANGO_SUPERUSER_PASSWORD": password},
        log_path=root / "setup.log",
    )
    servers = tuple(
        AppServer(name, env=env, log_path=root / f"{name}.log", workers=WORKERS, threads=2)
        for name in ("limited-a", "limited-b")
    )
    with ExitStack() as stack:
        for server in servers:
            stack.callback(server.stop)
            server.launch()
        for server in servers:
            server.wait_ready()
        yield servers


def _browser() -> requests.Session:
    """A browser whose every request opens a new connection, so any worker may take it."""
    browser = requests.Session()
    browser.headers["Connection"] = "close"
    return browser


def _csrf(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=REQUEST_TIMEOUT)
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def test_checkouts_from_one_address_stop_at_the_limit_across_servers_and_workers(limited):
    shopper = RemoteShopper()
    form = {"csrfmiddlewaretoken": shopper.open_shop(limited[0]).csrf_token}  # an empty cart

    statuses = together(
        2 * CHECKOUTS_ALLOWED,
        lambda i: shopper.buy(limited[i % 2], form).status_code,
    )

    assert statuses.count(429) == CHECKOUTS_ALLOWED, sorted(statuses)
    assert statuses.count(400) == CHECKOUTS_ALLOWED  # an empty cart, counted all the same


def test_admin_password_checks_stop_at_the_account_limit_across_servers(limited):
    username, _, password = ADMIN
    browser = _browser()

    def log_in(server: AppServer, attempt: str) -> requests.Response:
        url = f"{server.url}/admin/login/"
        data = {"csrfmiddlewaretoken": _csrf(browser, url), "username": username}
        return browser.post(
            url, data={**data, "password": attempt}, allow_redirects=False, timeout=REQUEST_TIMEOUT
        )

    for attempt in range(2 * FAILURES_PER_ACCOUNT):
        assert log_in(limited[attempt % 2], "wrong").status_code == 200

    # The right password now, a few times on each server, whichever worker: not checked.
    for attempt in range(6):
        response = log_in(limited[attempt % 2], password)
        assert response.status_code == 200 and "sessionid" not in browser.cookies


def test_password_reset_emails_stop_at_the_per_email_limit_across_servers(
    limited, cluster: ShopCluster
):
    _, email, _ = ADMIN
    browser = _browser()

    def reset(i: int) -> int:
        server = limited[i % 2]
        url = f"{server.url}/accounts/password/reset/"
        return browser.post(
            url,
            data={"csrfmiddlewaretoken": _csrf(browser, url), "email": email},
            allow_redirects=False,
            timeout=REQUEST_TIMEOUT,
        ).status_code

    statuses = [reset(i) for i in range(10)]

    assert statuses == [302] * RESETS_PER_EMAIL + [429] * (10 - RESETS_PER_EMAIL)
    sent = [m for m in cluster.outbox.messages() if m["To"] == email]
    assert len(sent) == RESETS_PER_EMAIL


def test_the_limited_servers_log_no_errors(limited):
    for server in limited:
        assert not re.search(r"Traceback|ERROR", server.log_text()), server.log_tail()
