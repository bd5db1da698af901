"""The reverse proxy compose puts in front of gunicorn: deploy/nginx.conf, run for real.

gunicorn runs as compose runs it (production settings, compose's environment, sync workers)
on a PostgreSQL database of its own; Debian's nginx runs the shipped config in front of it.
Slow clients are bounded: four, one header byte every two seconds, for eighteen seconds,
while twelve health probes start one a second.
"""

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.conf import settings

from tests.reliability.proxy import (
    SHIPPED_CONFIG,
    NginxProxy,
    nginx_binary,
    trickle_request_header,
)
from tests.support.compose import container_environment
from tests.support.servers import AppServer, ServerDatabase, server_environment
from tests.support.threads import together

# nginx in front of gunicorn behaves the same whichever database the app uses.
pytestmark = pytest.mark.slow

SLOW_CLIENTS = 4
SLOW_SECONDS = 18  # outlasts the last probe (12 s in, 5 s to answer)
SLOW_BYTE_EVERY = 2
PROBES = 12
PROBE_TIMEOUT = 5
PUBLIC_HOST = "localhost"  # compose's default ALLOWED_HOSTS


@dataclass(frozen=True)
class ProxiedApp:
    app: AppServer
    proxy: NginxProxy
    static_root: Path
    media_root: Path


@pytest.fixture(scope="module")
def proxied_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxiedApp]:
    nginx_binary()  # skip or fail before starting anything
    root = tmp_path_factory.mktemp("proxy")
    static_root, media_root = root / "static", root / "media"
    static_root.mkdir()
    media_root.mkdir()
    ours = settings.DATABASES["default"]
    database = ServerDatabase(
        name=f"storefront_proxy_{os.getpid()}",
        host=ours["HOST"],
        port=ours["PORT"],
        user=ours["USER"],
        password=ours["PASSWORD"],
    ).create()
    # /healthz needs no tables, and nothing here reaches a page that does.
    environment = container_environment("web", database_url=database.url)
    environment["MEDIA_ROOT"] = str(media_root)
    app = AppServer(
        "web",
        env=server_environment(**environment),
        log_path=root / "web.log",
        workers=2,
        threads=int(environment.get("GUNICORN_THREADS", "1")),
    )
    try:
        app.start()
        with NginxProxy(
            upstream=f"127.0.0.1:{app.port}",
            static_root=static_root,
            media_root=media_root,
            root=root / "nginx",
        ) as proxy:
            yield ProxiedApp(app=app, proxy=proxy, static_root=static_root, media_root=media_root)
    finally:
        app.stop()
        database.drop()


def _probe(base_url: str) -> int | None:
    """One health probe: the status, or None when nothing answered in time."""
    try:
        response = requests.get(
            f"{base_url}/healthz", headers={"Host": PUBLIC_HOST}, timeout=PROBE_TIMEOUT
        )
    except requests.RequestException:
        return None
    return response.status_code


def _probes_while_slow_clients_trickle(base_url: str, port: int) -> list[int | None]:
    """Four slow clients start together; a probe starts each second while they trickle."""

    def work(index: int) -> int | None:
        if index < SLOW_CLIENTS:
            trickle_request_header(port, seconds=SLOW_SECONDS, every=SLOW_BYTE_EVERY)
            return None
        time.sleep(index - SLOW_CLIENTS + 1)  # the slow clients are connected first
        return _probe(base_url)

    results = together(SLOW_CLIENTS + PROBES, work, timeout=SLOW_SECONDS + 30)
    return results[SLOW_CLIENTS:]


@pytest.mark.postgres
def test_health_probes_answer_through_the_proxy_while_slow_clients_trickle(proxied_app):
    proxy = proxied_app.proxy

    statuses = _probes_while_slow_clients_trickle(proxy.url, proxy.port)

    assert statuses == [200] * PROBES, f"{statuses}\n{proxied_app.app.log_tail()}"


@pytest.mark.postgres
def test_slow_clients_starve_gunicorn_published_directly(proxied_app):
    app = proxied_app.app
    # The proxy's answer above was not luck: without it the same clients hold every worker.
    assert app.workers < SLOW_CLIENTS

    statuses = _probes_while_slow_clients_trickle(app.url, app.port)

    answered = [status for status in statuses if status == 200]
    assert len(answered) < PROBES / 2, statuses


@pytest.mark.postgres
def test_proxy_serves_static_and_media_itself(proxied_app):
    stylesheet = proxied_app.static_root / "css" / "shop.0123abcd.css"
    stylesheet.parent.mkdir(parents=True, exist_ok=True)
    stylesheet.write_text("body { color: #222; }")
    image = proxied_app.media_root / "original_images" / "mug.png"
    image.parent.mkdir(parents=True, exist_ok=True)
    image.write_bytes(b"\x89PNG\r\n\x1a\n not really a picture")
    base = proxied_app.proxy.url

    css = requests.get(f"{base}/static/css/shop.0123abcd.css", timeout=10)
    png = requests.get(f"{base}/media/original_images/mug.png", timeout=10)

    assert css.status_code == 200 and css.text == "body { color: #222; }"
    assert css.headers["Content-Type"].startswith("text/css")
    assert png.status_code == 200 and png.content == image.read_bytes()
    assert png.headers["Content-Type"] == "image/png"
    assert png.headers["X-Content-Type-Options"] == "nosniff"
    # gunicorn never saw them (tests/site_config/test_urls.py: it would not serve media).
    assert "/static/" not in proxied_app.app.log_text()
    assert "/media/" not in proxied_app.app.log_text()


@pytest.mark.postgres
def test_oversized_body_gets_413_from_the_proxy_before_the_app(proxied_app):
    too_big = b"x" * (7 * 1024 * 1024)

    response = requests.post(
        f"{proxied_app.proxy.url}/checkout/",
        data=too_big,
        headers={"Host": PUBLIC_HOST, "Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )

    assert response.status_code == 413
    assert "POST /checkout/" not in proxied_app.app.log_text()


@pytest.mark.postgres
def test_proxy_passes_the_public_host_and_scheme_to_the_app(proxied_app):
    base = proxied_app.proxy.url

    plain = requests.get(
        f"{base}/admin/", headers={"Host": PUBLIC_HOST}, allow_redirects=False, timeout=10
    )
    # What a TLS terminator in front of this proxy reports is passed on.
    behind_tls = requests.get(
        f"{base}/admin/",
        headers={"Host": PUBLIC_HOST, "X-Forwarded-Proto": "https"},
        allow_redirects=False,
        timeout=10,
    )

    assert plain.status_code == 301
    assert plain.headers["Location"] == f"https://{PUBLIC_HOST}/admin/"
    assert behind_tls.status_code == 302
    assert behind_tls.headers["Location"].startswith("/admin/login/")


def test_proxy_body_limit_admits_the_largest_upload_the_app_accepts():
    match = re.search(r"^\s*client_max_body_size (\d+)m;", SHIPPED_CONFIG.read_text(), re.M)
    assert match, "deploy/nginx.conf sets no client_max_body_size"
    limit = int(match.group(1)) * 1024 * 1024

    assert limit > settings.WAGTAILIMAGES_MAX_UPLOAD_SIZE
    assert limit > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert limit <= 2 * settings.WAGTAILIMAGES_MAX_UPLOAD_SIZE
