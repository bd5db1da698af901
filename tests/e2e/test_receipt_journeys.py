"""Receipt journey: a shopper pays, opens the receipt from the order page and prints it."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.shopper import MUG, TOTE, choose, open_shop, order_card, pay, press_buy

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_shopper_opens_and_prints_the_receipt_of_a_paid_order(page: Page, save_screenshot) -> None:
    open_shop(page)
    choose(page, MUG, 2)
    choose(page, TOTE, 1)
    press_buy(page)
    reference = pay(page, "receipt@example.com")

    order_card(page, reference).get_by_role("link", name=f"Order {reference}").click()
    page.get_by_role("link", name="Receipt").click()

    expect(page).to_have_url(re.compile(rf"/orders/{reference}/receipt/$"))
    receipt = page.locator("[data-receipt]")
    expect(receipt.get_by_role("heading", level=1)).to_have_text("Receipt")
    expect(receipt.locator("[data-receipt-reference]")).to_have_text(reference)
    expect(receipt.locator("[data-receipt-email]")).to_have_text("receipt@example.com")
    expect(receipt.locator("[data-receipt-paid-at]")).not_to_be_empty()
    rows = receipt.locator("[data-receipt-line]")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(MUG)
    expect(rows.nth(0)).to_contain_text("$36.00")
    expect(rows.nth(1)).to_contain_text(TOTE)
    expect(receipt.locator("[data-receipt-subtotal]")).to_contain_text("$60.50")
    expect(receipt.locator("[data-receipt-shipping]")).to_contain_text("Standard")
    # The total is what the order page says it is.
    total = receipt.locator("[data-receipt-total] td").inner_text()
    assert re.fullmatch(r"\$\d+\.\d\d", total), total
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "receipt.png"), full_page=True)
    save_screenshot(page, "receipt")

    # Print: the button calls the browser's print (recorded here), and on paper only the
    # receipt shows, without the site's header, footer or the button itself.
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("() => window.printed") == 1
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".site-footer")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(receipt.locator("[data-receipt-total]")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "receipt-print.png"), full_page=True)
    page.emulate_media(media="screen")

    page.get_by_role("link", name="Back to the order").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {reference}")
    expect(page.locator("table.order-table tfoot")).to_contain_text(total)
