"""Promotion codes: editors manage them in the admin (Shop → Promotion codes) with drafts
and publishing; the list shows how often each was redeemed and how many are held; a
redemption is held by an open checkout, released when it ends, counted when it is paid."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from shop.models import Order, PromotionCode, Source
from shop.promotions import (
    PromotionRefused,
    promotion_check,
    redemptions_of,
    shares_split,
)
from shop.services.fulfilment import order_cancel
from tests.support.orders import order_make
from tests.support.promotions import promotion
from tests.support.shopper import Browser, soup_of, text_of

pytestmark = pytest.mark.django_db

ADD_URL = "wagtailsnippets_shop_promotioncode:add"
LIST_URL = "wagtailsnippets_shop_promotioncode:list"


def _code_form(**overrides) -> dict:
    data = {
        "code": "summer25",
        "percent_off": "",
        "amount_off": "2,50",
        "minimum_subtotal": "$20.00",
        "valid_from": "",
        "valid_until": "",
        "max_redemptions": "100",
        "active": "on",
        "action-publish": "publish",
    }
    data.update(overrides)
    return data


def test_editor_adds_and_publishes_a_code_stored_upper_cased(editor_client, shop):
    response = editor_client.post(reverse(ADD_URL), _code_form())

    assert response.status_code == 302, text_of(response)
    code = PromotionCode.objects.get(code="SUMMER25")
    assert (code.code, code.amount_off, code.percent_off, code.minimum_subtotal) == (
        "SUMMER25",
        250,
        None,
        2000,
    )
    assert code.live and code.max_redemptions == 100
    assert promotion_check("Summer25", subtotal=2000, currency="usd") == code


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"percent_off": "10"}, "Give either a percentage off or an amount off (exactly one)."),
        ({"amount_off": ""}, "Give either a percentage off or an amount off (exactly one)."),
        ({"amount_off": "", "percent_off": "101"}, "less than or equal to 100"),
        ({"code": "two words"}, "Use letters, digits, hyphens and underscores only"),
        ({"amount_off": "-1"}, "more than zero"),
        (
            {"valid_from": "2030-01-02 00:00", "valid_until": "2030-01-01 00:00"},
            "The end must be after the start.",
        ),
    ],
    ids=["both", "neither", "percent-over-100", "bad-code", "negative", "ends-before-start"],
)
def test_bad_codes_are_refused_with_a_clear_form_error(admin_client, changes, message):
    response = admin_client.post(reverse(ADD_URL), _code_form(**changes))

    assert response.status_code == 200
    assert message in text_of(response)
    assert not PromotionCode.objects.exclude(code="WELCOME10").exists()


def test_a_second_code_with_the_same_letters_in_other_case_is_refused(admin_client):
    promotion("SUMMER25")

    response = admin_client.post(reverse(ADD_URL), _code_form(code="Summer25"))

    assert "Another promotion code is already called that." in text_of(response)
    assert PromotionCode.objects.filter(code="SUMMER25").count() == 1


def test_clean_refuses_both_and_neither() -> None:
    with pytest.raises(ValidationError):
        PromotionCode(code="X", percent_off=10, amount_off=100).full_clean()
    with pytest.raises(ValidationError):
        PromotionCode(code="X").full_clean()


def test_list_shows_redeemed_and_held(admin_client, shop) -> None:
    code = promotion("COUNTED", percent_off=10, max_redemptions=9)
    for status in (Order.Status.PAID, Order.Status.PAID, Order.Status.EXPIRED):
        Order.objects.filter(pk=order_make(status=status).pk).update(promotion=code)
    held = order_make()
    Order.objects.filter(pk=held.pk).update(
        promotion=code, promotion_held_until=timezone.now() + dt.timedelta(minutes=30)
    )

    page = soup_of(admin_client.get(reverse(LIST_URL)))

    (row,) = [row for row in page.select("tbody tr") if "COUNTED" in row.get_text()]
    cells = [cell.get_text(strip=True) for cell in row.select("td")]
    assert "10% off" in cells
    redeemed, held_count, maximum = cells[cells.index("10% off") + 1 :][:3]
    assert (redeemed, held_count, maximum) == ("2", "1", "9")


def test_a_held_redemption_is_released_when_the_checkout_ends_and_counted_when_paid(
    browser: Browser, mug, shop
) -> None:
    code = promotion("ONE", percent_off=10, max_redemptions=1)
    token = browser.page_token()
    assert browser.buy(token, {mug: 1}, promotion_code="ONE").status_code == 303
    order = Order.objects.get(checkout_token=token)
    assert redemptions_of([code.pk])[code.pk].held == 1
    with pytest.raises(PromotionRefused) as refused:
        promotion_check("ONE", subtotal=1800, currency="usd")
    assert refused.value.reason == PromotionRefused.Reason.EXHAUSTED

    order_cancel(order=order, source=Source.cancel_page())

    assert redemptions_of([code.pk])[code.pk].held == 0
    assert promotion_check("ONE", subtotal=1800, currency="usd") == code


def test_a_hold_lapses_with_its_session(browser: Browser, mug, shop) -> None:
    code = promotion("LAPSE", percent_off=10, max_redemptions=1)
    assert browser.buy(browser.page_token(), {mug: 1}, promotion_code="LAPSE").status_code == 303

    later = Order.objects.get().promotion_held_until + dt.timedelta(seconds=1)

    assert redemptions_of([code.pk], now=later)[code.pk].held == 0
    assert promotion_check("LAPSE", subtotal=1800, currency="usd", now=later) == code


@given(
    amounts=st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=8),
    fraction=st.floats(min_value=0, max_value=1),
)
def test_line_shares_add_up_exactly_and_follow_the_amounts(amounts, fraction) -> None:
    discount = int(sum(amounts) * fraction)

    shares = shares_split(amounts, discount)

    assert sum(shares) == discount
    for amount, share in zip(amounts, shares, strict=True):
        exact = amount * discount / sum(amounts)
        assert abs(share - exact) < 1 and share <= amount


def test_the_admin_order_page_shows_the_code_and_discount(admin_client, shop) -> None:
    order = order_make(status=Order.Status.PAID)
    Order.objects.filter(pk=order.pk).update(promotion_code="SAVE10", amount_discount=180)

    text = text_of(admin_client.get(reverse("orders:inspect", args=[order.pk])))

    assert "Promotion code" in text and "SAVE10" in text
    assert "−$1.80" in text
