"""Promotion journeys: a shopper applies a code on the shop page, sees the new total and
pays with it; an editor creates a code in the admin and sees how often it was redeemed."""

import os

import pytest
from playwright.sync_api import expect

from tests.e2e.shopper import MUG, TOTE, choose, open_shop, order_card, pay, press_buy
from tests.e2e.staff import log_in_to_admin, open_shop_menu_item

pytestmark = pytest.mark.e2e


def _shot(page, name: str) -> None:
    """For looking at while developing: E2E_SHOTS_DIR=/tmp/shots."""
    folder = os.environ.get("E2E_SHOTS_DIR")
    if folder:
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)


def apply_code(page, code: str) -> None:
    page.get_by_label("Promotion code").fill(code)
    page.get_by_role("button", name="Apply").click()


def test_shopper_applies_a_code_sees_the_new_total_and_pays_with_it(page, save_screenshot):
    open_shop(page)
    choose(page, MUG, 1)
    choose(page, TOTE, 1)

    apply_code(page, "welcome10")

    # Back on the shop page with the quantities kept and the discount taken off.
    expect(page.get_by_label(f"Quantity of {MUG}")).to_have_value("1")
    expect(page.locator("#promotion-message")).to_have_text(
        "Promotion code WELCOME10 applied: 10% off the items."
    )
    expect(page.locator("#cart-discount")).to_have_text("−$4.25")
    expect(page.locator("#cart-total")).to_have_text("$38.25")
    # The running total follows the quantities, discount and all.
    choose(page, MUG, 2)
    expect(page.locator("#cart-discount")).to_have_text("−$6.05")
    expect(page.locator("#cart-total")).to_have_text("$54.45")
    save_screenshot(page, "shop-promotion-applied")
    _shot(page, "shop-applied")

    press_buy(page)
    expect(page.locator("[data-discount]")).to_contain_text("Promotion code WELCOME10")
    expect(page.locator("[data-discount]")).to_contain_text("−$6.05")
    expect(page.locator("[data-total]")).to_have_text("$54.45")
    _shot(page, "local-pay")
    reference = pay(page)

    # $60.50 − $6.05 = $54.45 is above the $50 free-shipping threshold.
    card = order_card(page, reference)
    expect(card).to_contain_text("Promotion code WELCOME10: −$6.05")
    expect(card.locator(".order__total")).to_have_text("Total $54.45")


def test_a_bad_code_is_refused_with_its_reason_and_the_cart_kept(page):
    open_shop(page)
    choose(page, MUG, 3)

    apply_code(page, "NOSUCHCODE")

    expect(page.locator("#promotion-message")).to_have_text(
        "We don't know the promotion code NOSUCHCODE."
    )
    expect(page.get_by_label(f"Quantity of {MUG}")).to_have_value("3")
    expect(page.locator("#cart-total")).to_have_text("$54.00")


def test_editor_creates_a_code_and_sees_its_redemptions(new_context):
    editor = new_context().new_page()
    log_in_to_admin(editor)
    open_shop_menu_item(editor, "Promotion codes")
    editor.get_by_role("link", name="Add promotion code").click()
    editor.get_by_role("textbox", name="Code*").fill("flash5")
    editor.get_by_role("textbox", name="Amount off").fill("5.00")
    editor.get_by_role("spinbutton", name="Maximum redemptions").fill("3")
    editor.get_by_role("button", name="More actions").click()
    editor.get_by_role("button", name="Publish").click()
    expect(editor.locator(".messages")).to_contain_text("published")

    row = editor.locator("main table tbody tr").filter(has_text="FLASH5")
    expect(row).to_contain_text("$5.00 off")
    _shot(editor, "admin-list")

    shopper = new_context().new_page()
    open_shop(shopper)
    choose(shopper, MUG, 1)
    apply_code(shopper, "FLASH5")
    expect(shopper.locator("#cart-total")).to_have_text("$13.00")
    press_buy(shopper)
    pay(shopper)

    editor.reload()
    cells = row.locator("td").all_inner_texts()
    discount = next(i for i, text in enumerate(cells) if "$5.00 off" in text)
    assert [c.strip() for c in cells[discount + 1 : discount + 4]] == ["1", "0", "3"]
