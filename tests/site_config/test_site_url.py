"""The shop's absolute address: SITE_URL, else the request's validated origin."""

import pytest
from django.core.exceptions import DisallowedHost
from django.test import RequestFactory, override_settings

from site_config.site_url import absolute_url, site_url

ALLOWED = ["shop.test", "127.0.0.1"]


def _request(host: str, *, server_port: str = "80", secure: bool = False):
    return RequestFactory().get("/", HTTP_HOST=host, SERVER_PORT=server_port, secure=secure)


@override_settings(ALLOWED_HOSTS=ALLOWED, SITE_URL="")
@pytest.mark.parametrize(
    ("host", "server_port", "secure", "expected"),
    [
        ("shop.test", "80", False, "http://shop.test"),
        ("127.0.0.1:8123", "8123", False, "http://127.0.0.1:8123"),
        ("shop.test:443", "443", True, "https://shop.test"),
        # A port the request did not arrive on is the client's invention: not echoed.
        ("shop.test:6666", "8000", False, "http://shop.test"),
    ],
)
def test_without_site_url_links_use_the_requests_validated_origin(
    host, server_port, secure, expected
):
    request = _request(host, server_port=server_port, secure=secure)

    assert site_url(request=request) == expected
    assert absolute_url("/orders/", request=request) == expected + "/orders/"


@override_settings(
    ALLOWED_HOSTS=ALLOWED, SITE_URL="", CSRF_TRUSTED_ORIGINS=["https://shop.test:8443"]
)
def test_a_port_mapped_by_a_proxy_is_kept_when_the_origin_is_trusted():
    request = _request("shop.test:8443", server_port="8000", secure=True)

    assert site_url(request=request) == "https://shop.test:8443"


@override_settings(ALLOWED_HOSTS=ALLOWED, SITE_URL="")
def test_a_host_outside_allowed_hosts_is_refused():
    with pytest.raises(DisallowedHost):
        site_url(request=_request("evil.example:8000", server_port="8000"))


@override_settings(ALLOWED_HOSTS=ALLOWED, SITE_URL="https://shop.example/")
def test_site_url_wins_over_the_request_and_a_recorded_origin():
    request = _request("127.0.0.1:8123", server_port="8123")

    assert site_url(request=request) == "https://shop.example"
    assert site_url(origin="http://127.0.0.1:8123") == "https://shop.example"


@override_settings(SITE_URL="", WAGTAILADMIN_BASE_URL="http://127.0.0.1:8000")
def test_without_a_request_the_recorded_origin_then_the_admin_base_url():
    assert site_url(origin="http://127.0.0.1:8123") == "http://127.0.0.1:8123"
    assert site_url() == "http://127.0.0.1:8000"
