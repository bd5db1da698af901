"""The guest cookie the shop page sets instead of a session: its attributes, kept while valid,
replaced when not, and set without touching the database."""

import pytest
from django.core import signing
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from shop.shoppers import GUEST_COOKIE_MAX_AGE, GUEST_COOKIE_NAME, guest_cookie_attach
from tests.support.shopper import Browser

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("secure", [True, False])
def test_shop_page_sets_an_httponly_lax_guest_cookie_secure_like_the_session(shop, secure):
    with override_settings(SESSION_COOKIE_SECURE=secure):
        cookie = Browser().get("/").cookies[GUEST_COOKIE_NAME]

    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert bool(cookie["secure"]) is secure
    assert cookie["max-age"] == GUEST_COOKIE_MAX_AGE
    assert cookie["path"] == "/"


def test_a_valid_guest_cookie_is_kept_and_any_other_replaced(shop):
    browser = Browser()
    first = browser.get("/").cookies[GUEST_COOKIE_NAME].value

    assert GUEST_COOKIE_NAME not in browser.get("/").cookies
    for bad in ("not-signed", first + "x", signing.dumps("token", salt="elsewhere")):
        browser.client.cookies[GUEST_COOKIE_NAME] = bad
        replaced = browser.get("/").cookies[GUEST_COOKIE_NAME].value
        assert replaced not in (bad, first)
        assert GUEST_COOKIE_NAME not in browser.get("/").cookies


def test_attaching_the_guest_cookie_asks_nothing_of_the_database(django_assert_num_queries):
    request = RequestFactory().get("/")
    response = HttpResponse()

    with django_assert_num_queries(0):
        guest_cookie_attach(request, response)

    assert GUEST_COOKIE_NAME in response.cookies
