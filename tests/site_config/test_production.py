"""Production readiness: settings refuse to start half-configured, deploy checks are clean,
security headers, health, rate limits, the catalogue cache, and the servers' entry points."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import OperationalError
from django.test import override_settings

from shop.models import Product
from shop.shoppers import GUEST_COOKIE_NAME
from site_config.ratelimit import wait_wording
from tests.support.servers import free_port
from tests.support.shopper import guest_client

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "site_config.settings.production",
    "SECRET_KEY": "x7-production-like-secret-key-that-is-long-and-random-enough-9f3k2m",
    "ALLOWED_HOSTS": "shop.example.com",
    "DATABASE_URL": "sqlite:////tmp/production-settings-check.sqlite3",
    "PAYMENT_GATEWAY": "local",
}


def _run(args, env_overrides: dict, *, drop=()) -> subprocess.CompletedProcess:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(env_overrides)
    for name in drop:
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_reports_zero_warnings_with_production_settings():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_is_clean_with_the_stripe_gateway_too():
    env = {
        **PRODUCTION_ENV,
        "PAYMENT_GATEWAY": "stripe",
        "STRIPE_SECRET_KEY": "sk_test_123",
        "STRIPE_WEBHOOK_SECRET": "whsec_123",
    }
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)

    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "django_tasks_db.DatabaseBackend"),
        ({"TASKS_BACKEND": "immediate"}, "django_tasks.backends.immediate.ImmediateBackend"),
    ],
)
def test_production_queues_tasks_in_the_database_unless_told_otherwise(overrides, expected):
    script = "from django.conf import settings; print(settings.TASKS['default']['BACKEND'])"
    result = _run(
        ["-c", f"import django; django.setup(); {script}"],
        {**PRODUCTION_ENV, **overrides},
        drop=() if overrides else ("TASKS_BACKEND",),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"])
def test_production_refuses_to_start_without_required_settings(missing):
    result = _run(["manage.py", "check"], PRODUCTION_ENV, drop=[missing])

    assert result.returncode != 0
    assert f"{missing} must be set" in result.stderr


@pytest.mark.parametrize("missing", ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"])
def test_production_with_stripe_refuses_to_start_without_its_secrets(missing):
    env = {
        **PRODUCTION_ENV,
        "PAYMENT_GATEWAY": "stripe",
        "STRIPE_SECRET_KEY": "sk_test_123",
        "STRIPE_WEBHOOK_SECRET": "whsec_123",
    }
    result = _run(["manage.py", "check"], env, drop=[missing])

    assert result.returncode != 0
    assert f"{missing} must be set" in result.stderr


def _csp(response) -> dict[str, set[str]]:
    """The response's Content-Security-Policy as directive -> sources."""
    directives = (part.split() for part in response["Content-Security-Policy"].split(";"))
    return {name: set(sources) for name, *sources in directives}


@pytest.mark.django_db
def test_security_headers_and_csp_on_shop_and_admin(client, seeded_shop):
    shop = client.get("/")
    admin = client.get("/admin/login/")

    for response in (shop, admin):
        csp = _csp(response)
        assert csp["default-src"] == {"'self'"} and csp["object-src"] == {"'none'"}
        assert csp["frame-ancestors"] == {"'self'"} and csp["form-action"] == {"'self'"}
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
        assert "camera=()" in response["Permissions-Policy"]
    assert _csp(shop)["script-src"] == {"'self'"} and _csp(shop)["style-src"] == {"'self'"}
    assert "'unsafe-inline'" not in shop["Content-Security-Policy"]
    # The admin's choosers start from inline scripts.
    assert _csp(admin)["script-src"] == {"'self'", "'unsafe-inline'"}


@pytest.mark.django_db
@override_settings(PAYMENT_GATEWAY="stripe", STRIPE_SECRET_KEY="sk_test_1")
def test_csp_lets_the_checkout_form_reach_stripe_when_the_stripe_gateway_is_on(client):
    csp = _csp(client.get("/healthz"))

    assert csp["form-action"] == {"'self'", "https://checkout.stripe.com"}


@pytest.mark.django_db
def test_healthz_is_200_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_does_not_answer(client):
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    assert b"version" not in response.content.lower()


@pytest.mark.django_db
# Ten seconds: django-ratelimit's windows are fixed to the clock, so a window as short as the
# test itself could end half-way through and let the fourth post through.
@override_settings(CHECKOUT_RATE_LIMIT="3/10")
@pytest.mark.slow
def test_checkout_is_rate_limited_per_address_with_a_clear_429_and_recovers(client, seeded_shop):
    statuses = [client.post("/checkout/", {}).status_code for _ in range(4)]

    assert statuses[:3] == [400, 400, 400]
    limited = client.post("/checkout/", {}, HTTP_ACCEPT="text/html")
    assert limited.status_code == 429
    retry_after = int(limited["Retry-After"])
    assert 1 <= retry_after <= 10
    assert "Please slow down" in limited.content.decode()
    assert "Nothing was charged" in limited.content.decode()
    other_address = client.post("/checkout/", {}, REMOTE_ADDR="10.9.8.7")
    assert other_address.status_code == 400

    # The window ends after the second Retry-After names (django-ratelimit counts it in).
    time.sleep(retry_after + 1.2)
    assert client.post("/checkout/", {}).status_code == 400


@pytest.mark.parametrize(
    ("seconds", "wording"),
    [
        (1, "1 second"),
        (119, "119 seconds"),
        (120, "2 minutes"),
        (121, "3 minutes"),
        (7199, "120 minutes"),
        (7200, "2 hours"),
        (86399, "24 hours"),
    ],
)
def test_the_429_page_tells_the_wait_in_seconds_then_minutes_then_hours(seconds, wording):
    assert wait_wording(seconds) == wording


@pytest.mark.django_db
@override_settings(LOGIN_RATE_LIMIT="2/60")
def test_login_is_rate_limited_per_address(client, seeded_shop):
    for _ in range(2):
        client.post("/accounts/login/", {"username": "a@example.com", "password": "x"})

    response = client.post(
        "/accounts/login/",
        {"username": "a@example.com", "password": "x"},
        HTTP_ACCEPT="application/json",
    )

    assert response.status_code == 429 and "Too many requests" in response.json()["error"]
    assert client.get("/accounts/login/").status_code == 200  # looking is not limited


@pytest.mark.django_db
def test_catalogue_cache_shows_a_published_price_change_immediately(client, seeded_shop):
    assert "$18.00" in client.get("/").content.decode()
    mug = Product.objects.get(slug="stoneware-mug")
    mug.unit_amount = 2100
    mug.save_revision().publish()

    assert "$21.00" in client.get("/").content.decode()

    mug.unpublish()
    assert "Stoneware Mug" not in client.get("/").content.decode()


@pytest.mark.django_db
def test_catalogue_is_served_from_cache_with_fewer_queries(
    client, seeded_shop, django_assert_num_queries
):
    client.get("/")  # fills the cache
    # A guest who has bought: the session, the guest's orders. The site, the page, the store
    # settings, the shipping rates and the cards are kept by the process
    # (shop/page_serving.py, shop/shop_state.py).
    guest = guest_client("a-guest-token")
    with django_assert_num_queries(2):
        body = guest.get("/").content.decode()
    assert body.count('class="product-card"') == 3
    # A visitor who has not bought has no session (only the guest cookie): the page everyone
    # gets, no query.
    with django_assert_num_queries(0):
        body = client.get("/").content.decode()
    assert body.count('class="product-card"') == 3


def test_gunicorn_config_loads():
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "--check-config",
            "-c",
            "gunicorn.conf.py",
            "site_config.wsgi",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "WEB_CONCURRENCY": "2",
            "DJANGO_SETTINGS_MODULE": "site_config.settings.dev",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_asgi_entry_point_serves_under_uvicorn(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "site_config.settings.dev",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'asgi.sqlite3'}",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "site_config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                    assert resp.status == 200
                    assert b'"ok"' in resp.read()
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.django_db
@override_settings(CHECKOUT_RATE_LIMIT="1/60", CLIENT_IP_FROM_FORWARDED_FOR=True)
def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(client, seeded_shop):
    def post(forwarded):
        return client.post("/checkout/", {}, HTTP_X_FORWARDED_FOR=forwarded).status_code

    assert post("198.51.100.7") == 400
    assert post("198.51.100.7") == 429
    # A spoofed first hop does not help: the proxy's appended hop is what counts.
    assert post("1.2.3.4, 198.51.100.7") == 429
    assert post("198.51.100.8") == 400


@pytest.mark.django_db
def test_a_first_anonymous_visit_does_not_look_for_orders_it_cannot_have(
    client, seeded_shop, django_assert_num_queries
):
    client.get("/")  # fills the cache
    client.cookies.clear()
    # The page everyone gets, drawn once by the process (shop/page_snapshot.py): no query,
    # so no session (nothing written) and no order history.
    with django_assert_num_queries(0):
        response = client.get("/")
    assert response.content.decode().count('class="product-card"') == 3
    # The guest cookie, not a session, ties this browser's first Buys together.
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert GUEST_COOKIE_NAME in response.cookies
    assert not Session.objects.exists()
