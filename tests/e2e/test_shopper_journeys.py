"""Shopper journeys in a real Chromium against the real server (issue 6, journeys 1–8)."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.shopper import (
    MUG,
    NOTEBOOK,
    TOTE,
    buy_button,
    cancel,
    checkout_counts,
    choose,
    decline,
    my_orders,
    open_shop,
    order_card,
    order_lines,
    order_status,
    pay,
    payment_lines,
    press_buy,
    reference_on_payment_page,
)

pytestmark = pytest.mark.e2e

EXPECTED_LINES = [
    [MUG, "2", "$18.00", "$36.00"],
    [TOTE, "1", "$24.50", "$24.50"],
]


def test_two_products_bought_and_paid_show_as_paid_in_my_orders(page, save_screenshot):
    open_shop(page)
    total = page.locator("output#cart-total")
    expect(total).to_have_text("$0.00")
    expect(buy_button(page)).to_be_disabled()

    choose(page, MUG, 2)
    expect(total).to_have_text("$36.00")
    expect(buy_button(page)).to_be_enabled()
    choose(page, TOTE, 1)
    expect(total).to_have_text("$60.50")
    save_screenshot(page, "shop-desktop")

    press_buy(page)
    expect(page.get_by_text("Test payment page")).to_be_visible()
    assert payment_lines(page) == EXPECTED_LINES
    expect(page.locator("[data-total]")).to_have_text("$60.50")

    reference = pay(page)
    card = order_card(page, reference)
    expect(card.locator(".status")).to_have_text("Paid")
    assert order_lines(card) == [f"{MUG} × 2 at $18.00", f"{TOTE} × 1 at $24.50"]
    expect(card.locator(".order__total")).to_have_text("Total $60.50")
    expect(page.locator("output#cart-total")).to_have_text("$0.00")
    save_screenshot(page, "shop-after-purchase-desktop")


@pytest.mark.parametrize(
    ("javascript", "clicks"),
    [(True, "double"), (True, "rapid"), (False, "double")],
    ids=["double-click", "rapid-clicks", "double-click-without-javascript"],
)
def test_repeated_clicks_on_buy_make_one_order_and_one_payment_session(
    new_context, shop_server, javascript, clicks
):
    page = new_context(java_script_enabled=javascript).new_page()
    open_shop(page)
    choose(page, NOTEBOOK, 1)
    orders_before, sessions_before = checkout_counts(shop_server)

    if clicks == "double":
        buy_button(page).dblclick()
    else:
        buy_button(page).click(click_count=5, delay=20)
    expect(page).to_have_url(re.compile(r"/checkout/local/cs_"))
    reference = pay(page)

    assert checkout_counts(shop_server) == (orders_before + 1, sessions_before + 1)
    expect(my_orders(page)).to_have_count(1)
    expect(order_card(page, reference).locator(".status")).to_have_text("Paid")


def test_declined_card_charges_nothing_and_the_shopper_can_pay_after(page, shop_server):
    open_shop(page)
    choose(page, TOTE, 2)
    press_buy(page)
    reference = reference_on_payment_page(page)

    decline(page)
    expect(page.get_by_role("alert")).to_contain_text("Your card was declined")
    expect(page.get_by_role("alert")).to_contain_text("You have not been charged")
    assert order_status(shop_server, reference) == "pending"

    assert pay(page) == reference
    expect(order_card(page, reference).locator(".status")).to_have_text("Paid")
    # $49.00 of goods and $4.95 Standard shipping.
    expect(order_card(page, reference).locator(".order__total")).to_have_text("Total $53.95")
    expect(order_card(page, reference).locator(".order__shipping")).to_have_text(
        "Includes Standard shipping: $4.95"
    )


def test_cancel_on_payment_page_returns_to_shop_with_nothing_charged(page, shop_server):
    open_shop(page)
    choose(page, MUG, 1)
    press_buy(page)
    reference = reference_on_payment_page(page)

    cancel(page)
    expect(page.locator(".messages")).to_contain_text("you were not charged")
    expect(page.locator("#my-orders [data-order-status='paid']")).to_have_count(0)
    assert order_status(shop_server, reference) == "canceled"


def test_back_from_payment_page_then_buy_again_reuses_the_same_checkout(page, shop_server):
    open_shop(page)
    choose(page, MUG, 1)
    choose(page, NOTEBOOK, 2)
    press_buy(page)
    first_payment_url = page.url
    counts = checkout_counts(shop_server)

    # Restored from the back/forward cache: no "load" event to wait for. The quantities are
    # reset (a page shown again never keeps a cart by itself); choosing them again finds the
    # same checkout, since the page's token is the one that started it.
    page.go_back(wait_until="commit")
    expect(page.get_by_label(f"Quantity of {MUG}")).to_have_value("0")
    expect(page.locator("output#cart-total")).to_have_text("$0.00")
    choose(page, MUG, 1)
    choose(page, NOTEBOOK, 2)
    expect(page.locator("output#cart-total")).to_have_text("$43.50")
    expect(buy_button(page)).to_be_enabled()
    press_buy(page)

    assert page.url == first_payment_url
    assert checkout_counts(shop_server) == counts


def test_refreshing_the_success_url_changes_nothing(page, shop_server):
    open_shop(page)
    choose(page, TOTE, 1)
    press_buy(page)
    with page.expect_request(lambda request: "/checkout/success/" in request.url) as success:
        reference = pay(page)
    success_url = success.value.url
    counts = (*checkout_counts(shop_server), shop_server.count("shop_paymentevent"))

    page.goto(success_url)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".messages")).to_contain_text(f"Order {reference} is paid")
    page.reload()

    assert (*checkout_counts(shop_server), shop_server.count("shop_paymentevent")) == counts
    expect(my_orders(page)).to_have_count(1)
    expect(order_card(page, reference).locator(".status")).to_have_text("Paid")


def test_whole_purchase_works_without_javascript(new_context):
    page = new_context(java_script_enabled=False).new_page()
    open_shop(page)
    # Without the script nothing can disable Buy: the server checks the cart instead.
    expect(buy_button(page)).to_be_enabled()
    choose(page, MUG, 2)
    choose(page, TOTE, 1)

    press_buy(page)
    assert payment_lines(page) == EXPECTED_LINES
    expect(page.locator("[data-total]")).to_have_text("$60.50")

    reference = pay(page)
    card = order_card(page, reference)
    expect(card.locator(".status")).to_have_text("Paid")
    assert order_lines(card) == [f"{MUG} × 2 at $18.00", f"{TOTE} × 1 at $24.50"]
    expect(card.locator(".order__total")).to_have_text("Total $60.50")


def test_buying_with_nothing_chosen_without_javascript_explains_why(new_context, shop_server):
    page = new_context(java_script_enabled=False).new_page()
    open_shop(page)
    orders_before = shop_server.count("shop_order")

    buy_button(page).click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert shop_server.count("shop_order") == orders_before


def _sign_up(page, email: str, password: str) -> None:
    page.goto("/accounts/signup/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password again").fill(password)
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator(".site-header")).to_contain_text(f"Signed in as {email}")


def test_signed_up_shopper_finds_their_order_on_a_new_device_and_nobody_else_sees_it(
    new_context,
):
    email, password = f"buyer-{uuid.uuid4().hex[:8]}@example.com", "plum-kettle-harbour-42"
    page = new_context().new_page()
    _sign_up(page, email, password)
    open_shop(page)
    choose(page, MUG, 1)
    press_buy(page)
    reference = pay(page, email)

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    expect(my_orders(page)).to_have_count(0)

    other_device = new_context().new_page()
    other_device.goto("/accounts/login/")
    other_device.get_by_label("E-mail").fill(email)
    other_device.get_by_label("Password", exact=True).fill(password)
    other_device.get_by_role("button", name="Log in").click()
    expect(other_device).to_have_url(re.compile(r"/$"))
    expect(order_card(other_device, reference).locator(".status")).to_have_text("Paid")

    stranger = new_context().new_page()
    for signed_up in (False, True):
        if signed_up:
            _sign_up(stranger, f"other-{uuid.uuid4().hex[:8]}@example.com", password)
        open_shop(stranger)
        expect(my_orders(stranger)).to_have_count(0)
        answer = stranger.goto(f"/orders/{reference}/")
        if signed_up:
            assert answer.status == 404
        else:
            # An order that belongs to an account asks a logged-out visitor to log in first;
            # nothing of the order is shown.
            expect(stranger).to_have_url(re.compile(r"/accounts/login/\?next="))
            expect(stranger.locator("main")).not_to_contain_text("Total")
        stranger.goto("/orders/")
        expect(stranger.locator("main")).not_to_contain_text(reference)


PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


def _assert_no_sideways_scrolling(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{page.url} is {width}px wide on a 360px phone"


def test_phone_shopper_buys_without_sideways_scrolling(new_context, save_screenshot):
    page = new_context(**PHONE).new_page()
    open_shop(page)
    _assert_no_sideways_scrolling(page)
    save_screenshot(page, "shop-phone", full_page=False)

    choose(page, TOTE, 1)
    choose(page, NOTEBOOK, 1)
    button = buy_button(page)
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    button.tap()
    expect(page).to_have_url(re.compile(r"/checkout/local/cs_"))
    _assert_no_sideways_scrolling(page)

    reference = pay(page)
    _assert_no_sideways_scrolling(page)
    expect(order_card(page, reference).locator(".status")).to_have_text("Paid")
    save_screenshot(page, "shop-after-purchase-phone", full_page=False)


def test_quantity_over_the_maximum_is_explained_at_the_input_and_never_totalled(page):
    open_shop(page)
    mug = page.get_by_label(f"Quantity of {MUG}")
    total = page.locator("output#cart-total")

    choose(page, MUG, 11)

    expect(mug).to_have_attribute("aria-invalid", "true")
    expect(mug).to_have_accessible_description("You can buy at most 10 of each product.")
    expect(page.get_by_text("You can buy at most 10 of each product.")).to_be_visible()
    expect(total).to_have_text("—")
    expect(buy_button(page)).to_be_disabled()

    choose(page, MUG, 10)
    expect(mug).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("You can buy at most 10 of each product.")).to_have_count(0)
    expect(total).to_have_text("$180.00")
    expect(buy_button(page)).to_be_enabled()


def _set_price(server, slug: str, unit_amount: int) -> None:
    """An editor publishes a new price (as a scheduled change going live would)."""
    server.manage(
        "shell",
        "-c",
        "from shop.models import Product; "
        f"p = Product.objects.get(slug='{slug}'); p.unit_amount = {unit_amount}; "
        "p.save_revision().publish()",
    )


def test_price_that_went_live_while_the_page_was_open_is_shown_before_paying(page, shop_server):
    open_shop(page)
    choose(page, NOTEBOOK, 2)
    orders_before = shop_server.count("shop_order")
    _set_price(shop_server, "dot-grid-notebook", 1400)
    try:
        buy_button(page).click()

        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("Prices changed since you opened this page")
        expect(alert).to_contain_text(f"{NOTEBOOK} is now $14.00 (was $12.75)")
        assert shop_server.count("shop_order") == orders_before
        expect(page.get_by_label(f"Quantity of {NOTEBOOK}")).to_have_value("2")
        expect(page.locator("output#cart-total")).to_have_text("$28.00")

        press_buy(page)
        assert payment_lines(page) == [[NOTEBOOK, "2", "$14.00", "$28.00"]]
    finally:
        _set_price(shop_server, "dot-grid-notebook", 1275)


def test_back_after_paying_resets_the_quantities_and_the_same_cart_again_asks_first(
    page, shop_server
):
    open_shop(page)
    choose(page, MUG, 1)
    choose(page, TOTE, 1)
    press_buy(page)
    reference = pay(page)

    page.go_back(wait_until="commit")  # the payment page
    page.go_back(wait_until="commit")  # the shop page, as it was before Buy
    expect(page.get_by_label(f"Quantity of {MUG}")).to_have_value("0")
    expect(page.get_by_label(f"Quantity of {TOTE}")).to_have_value("0")
    expect(buy_button(page)).to_be_disabled()

    open_shop(page)
    choose(page, MUG, 1)
    choose(page, TOTE, 1)
    orders_before = shop_server.count("shop_order")
    buy_button(page).click()
    question = page.locator("#repeat-question")
    expect(question).to_contain_text(
        re.compile(rf"You bought these \d+ minutes? ago \(order {reference}\)\. Buy them again\?")
    )
    assert shop_server.count("shop_order") == orders_before

    question.get_by_role("button", name="Yes, buy them again").click()
    expect(page).to_have_url(re.compile(r"/checkout/local/cs_"))
    assert payment_lines(page) == [[MUG, "1", "$18.00", "$18.00"], [TOTE, "1", "$24.50", "$24.50"]]
    assert shop_server.count("shop_order") == orders_before + 1


def test_declined_payment_reads_payment_declined_after_returning(page, shop_server):
    open_shop(page)
    choose(page, MUG, 1)
    press_buy(page)
    reference = reference_on_payment_page(page)

    decline(page)
    cancel(page)

    expect(page.locator(".messages")).to_contain_text(f"Order {reference}: payment declined.")
    card = order_card(page, reference)
    expect(card.locator(".status")).to_have_text("Payment declined")
    card.get_by_role("link", name=f"Order {reference}").click()
    expect(page.locator("main .status")).to_have_text("Payment declined")
    expect(page.locator("main")).to_contain_text("You have not been charged.")


def _covered_by_buy_bar(page, field) -> bool:
    box, bar = field.bounding_box(), page.locator(".buy-bar").bounding_box()
    return box["y"] + box["height"] > bar["y"] and box["y"] < bar["y"] + bar["height"]


def test_phone_buy_bar_never_covers_a_quantity(new_context):
    page = new_context(**PHONE).new_page()
    open_shop(page)
    first = page.get_by_label(f"Quantity of {MUG}")
    expect(first).to_be_in_viewport()
    assert not _covered_by_buy_bar(page, first), "the total bar covers the first quantity"

    for product in (MUG, TOTE, NOTEBOOK):
        field = page.get_by_label(f"Quantity of {product}")
        field.focus()
        assert not _covered_by_buy_bar(page, field), f"the total bar covers {product}'s quantity"


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_paid_order_is_shown_right_under_the_success_message(new_context, device):
    page = new_context(**(PHONE if device == "phone" else {})).new_page()
    open_shop(page)
    choose(page, NOTEBOOK, 1)
    press_buy(page)
    reference = pay(page)

    card = order_card(page, reference)
    expect(card).to_be_in_viewport(ratio=1)
    message_box = page.locator(".messages").bounding_box()
    assert card.bounding_box()["y"] > message_box["y"]

    page.reload()
    # Only the return from paying moves My orders up; the shop page is the shop again.
    assert (
        page.locator("#my-orders").bounding_box()["y"]
        > page.locator(".buy-bar").bounding_box()["y"]
    )


def test_paid_order_page_lists_when_it_was_placed_and_paid(page, save_screenshot):
    open_shop(page)
    choose(page, MUG, 1)
    press_buy(page)
    reference = pay(page)

    order_card(page, reference).get_by_role("link", name=f"Order {reference}").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {reference}")
    timeline = page.locator("[data-order-timeline]")
    expect(timeline.locator("dt")).to_have_text(["Placed", "Paid"])
    expect(timeline.locator("dd time")).to_have_count(2)
    save_screenshot(page, "order-page-timeline")
