"""Tax journeys: an administrator turns automatic tax on in Settings → Store settings, and a
shopper sees it on the shop page, on the test payment page (at its flat test rate) and on
the paid order. Store settings are not an editor's: Editors have no Settings menu."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.shopper import MUG, choose, fill_address, open_shop, order_card, press_buy
from tests.e2e.staff import SUPERUSER, log_in_to_admin

pytestmark = pytest.mark.e2e


def open_store_settings(page: Page) -> None:
    page.get_by_role("button", name="Settings").click()
    page.get_by_role("list", name="Settings").get_by_role("link", name="Store settings").click()
    expect(page.get_by_role("heading", name="Store settings", exact=True)).to_be_visible()


def save_settings(page: Page) -> None:
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("updated")


@pytest.fixture
def admin_page(new_context) -> Iterator[Page]:
    """An administrator's tab; tax is turned off again afterwards for the other journeys."""
    page = new_context().new_page()
    log_in_to_admin(page, SUPERUSER)
    yield page
    open_store_settings(page)
    page.get_by_label("Calculate tax automatically").uncheck()
    save_settings(page)


def test_admin_turns_tax_on_and_a_shopper_pays_it_on_top(
    admin_page: Page, page: Page, save_screenshot
) -> None:
    open_store_settings(admin_page)
    admin_page.get_by_label("Calculate tax automatically").check()
    admin_page.get_by_label("Tax and your prices").select_option(label="Tax is added at checkout")
    expect(admin_page.get_by_label("Tax rate for test payments (%)")).to_have_value("20.00")
    expect(admin_page.locator("main")).to_contain_text("automatic tax must first be set up")
    save_screenshot(admin_page, "store-settings-tax")
    save_settings(admin_page)

    open_shop(page)
    expect(page.locator("[data-tax-note]")).to_have_text("Tax is added at checkout.")
    choose(page, MUG, 1)
    press_buy(page)
    totals = page.locator("table.order-table tfoot")
    expect(totals).to_contain_text("Tax (20%) on the items, added when you pay")
    expect(page.locator("[data-tax]")).to_have_text("$3.60")
    expect(page.get_by_role("button", name=re.compile(r"^Pay "))).to_have_text(
        "Pay $18.00 + delivery + tax"
    )
    page.get_by_label("E-mail for your receipt").fill("tax@example.com")
    fill_address(page, country="US", rate="Standard")
    save_screenshot(page, "local-checkout-tax")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(page).to_have_url(re.compile(r"/$"))
    reference = re.search(
        r"[A-Z0-9]{4}-[A-Z0-9]{4}", page.locator(".messages .message").first.inner_text()
    ).group(0)

    # 20% of 18.00 + 4.95 = 4.59, added to 22.95.
    card = order_card(page, reference)
    expect(card).to_contain_text("Total $27.54")
    expect(card.locator("[data-order-tax]")).to_have_text("Tax: $4.59")
    card.get_by_role("link", name=f"Order {reference}").click()
    expect(page.locator("[data-order-tax]")).to_contain_text("$4.59")
    expect(page.locator("table.order-table tfoot")).to_contain_text("$27.54")
    save_screenshot(page, "order-tax")
