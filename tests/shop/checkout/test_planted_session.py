"""A planted session cookie or guest cookie gives its planter none of a guest's orders.

The planter gets a session or a guest cookie of their own from the shop, sets a victim's
cookie to it (a sibling subdomain or an injected header can), and waits for the victim to
buy as a guest: then logs in or signs up with it to take the victim's orders into their
account, or just reloads the shop page to read them. The victim's Buy moves the victim to a
new session key that the planter never learns, and a guest cookie is claimed by its first
Buy only: the planter's later Buys with it start afresh.
"""

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from shop.models import Order, Product
from shop.shoppers import GUEST_COOKIE_NAME
from tests.support.shopper import Browser, location, pay_form

pytestmark = pytest.mark.django_db

PASSWORD = "planter-pass-1234"


def session_cookie(browser: Browser) -> str:
    return browser.client.cookies[settings.SESSION_COOKIE_NAME].value


def planted_with(planter: Browser, cookie_name: str) -> Browser:
    victim = Browser()
    victim.client.cookies[cookie_name] = planter.client.cookies[cookie_name].value
    return victim


def buy_and_pay(browser: Browser, product: Product, quantity: int = 1) -> str:
    """Buy ``quantity`` of ``product`` on a fresh shop page and pay on the test payment page."""
    token = browser.page_token()
    payment_page = urlsplit(location(browser.buy(token, {product: quantity}))).path
    success = location(browser.post(payment_page, pay_form("vi@example.com")))
    assert location(browser.visit(success)) == "/"
    return Order.objects.get(checkout_token=token).reference


def log_in(browser: Browser, email: str) -> object:
    user = get_user_model().objects.create_user(email, email, PASSWORD)
    response = browser.post("/accounts/login/", {"username": email, "password": PASSWORD})
    assert response.status_code == 302
    return user


def sign_up(browser: Browser, email: str) -> object:
    data = {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    assert browser.post("/accounts/signup/", data).status_code == 302
    return get_user_model().objects.get(email=email)


def assert_planter_gets_none_of(bought: list[str], planter: Browser, account) -> None:
    assert not Order.objects.filter(user=account, reference__in=bought).exists()
    assert not set(bought) & set(planter.shop_page().listed_references)
    assert planter.get(f"/orders/{bought[0]}/").status_code == 404


def assert_victim_keeps(bought: list[str], victim: Browser) -> None:
    assert set(bought) <= set(victim.shop_page().listed_references)
    victim_account = log_in(victim, "victor@example.com")
    assert set(
        Order.objects.filter(user=victim_account).values_list("reference", flat=True)
    ) >= set(bought)


@pytest.mark.parametrize("planter_bought_first", [False, True], ids=["fresh", "after buying"])
def test_planter_of_a_session_cookie_gets_none_of_the_guests_orders(
    mug: Product, tote: Product, planter_bought_first: bool
) -> None:
    planter = Browser()
    if planter_bought_first:  # their planted key is then the one their own Buy gave them
        buy_and_pay(planter, tote)
    else:  # a first visit gives no session: a refused Buy gives one, with a guest token
        planter.refused_buy(tote)
    victim = planted_with(planter, settings.SESSION_COOKIE_NAME)

    # Two different carts: the same cart again within minutes would ask "Buy them again?".
    bought = [buy_and_pay(victim, mug), buy_and_pay(victim, mug, 2)]

    # Reading the shop page with the planted session shows none of them...
    assert not set(bought) & set(planter.shop_page().listed_references)
    # ...and logging in with it claims none of them.
    assert_planter_gets_none_of(bought, planter, log_in(planter, "mallory@example.com"))
    # The victim still sees their orders and takes them into their own account.
    assert_victim_keeps(bought, victim)


@pytest.mark.parametrize("joins", [log_in, sign_up], ids=["logs in", "signs up"])
@pytest.mark.parametrize(
    "planter_bought_first", [False, True], ids=["cookie unclaimed", "cookie claimed"]
)
def test_planter_of_a_guest_cookie_gets_none_of_the_guests_orders(
    mug: Product, tote: Product, planter_bought_first: bool, joins
) -> None:
    planter = Browser()
    planter.get("/")
    if planter_bought_first:  # their own first Buy claimed the cookie
        buy_and_pay(planter, tote)
    victim = planted_with(planter, GUEST_COOKIE_NAME)

    bought = [buy_and_pay(victim, mug), buy_and_pay(victim, mug, 2)]

    # The cookie alone shows nothing, on the planter's browser or any other carrying it.
    assert not set(bought) & set(planter.shop_page().listed_references)
    other_device = Browser.with_cookies({GUEST_COOKIE_NAME: planter.cookies()[GUEST_COOKIE_NAME]})
    assert other_device.shop_page().listed_references == []
    # The planter's own Buy with the cookie is theirs alone; then they join.
    own = buy_and_pay(other_device if planter_bought_first else planter, mug, 3)
    assert not set(bought) & set(planter.shop_page().listed_references)
    account = joins(planter, "mallory@example.com")
    assert_planter_gets_none_of(bought, planter, account)
    if not planter_bought_first:
        assert Order.objects.get(reference=own).user == account
    assert_victim_keeps(bought, victim)


@pytest.mark.parametrize("had_session", [False, True], ids=["only the cookie", "a session"])
def test_second_click_sent_with_the_old_cookies_keeps_the_order_in_view(
    mug: Product, tote: Product, had_session: bool
) -> None:
    # The first Buy gives the browser a new session key; a second click that left before
    # that answer arrived carries the old cookies (the guest cookie, and the session key if
    # the browser had one) and must still end in the same place.
    browser = Browser()
    if had_session:
        browser.refused_buy(tote)
    token = browser.page_token()
    old_cookies = browser.cookies()
    second_click = Browser.with_cookies(old_cookies)

    first = browser.buy(token, {mug: 1})
    second = second_click.buy(token, {mug: 1})

    assert first.status_code == second.status_code == 303
    assert first["Location"] == second["Location"]
    order = Order.objects.get()
    for click in (browser, second_click):
        assert session_cookie(click) != old_cookies.get(settings.SESSION_COOKIE_NAME)
        assert click.get(f"/orders/{order.reference}/").status_code == 200
    # The old cookies lead nowhere else: without that Buy's token they show no order.
    stale = Browser.with_cookies(old_cookies)
    assert stale.get(f"/orders/{order.reference}/").status_code == 404
    assert stale.buy(stale.page_token(), {mug: 1}).status_code == 303
    assert stale.get(f"/orders/{order.reference}/").status_code == 404
