"""Shipping journeys: a shopper chooses a rate and a delivery address on the test payment
page, pays, and reads where and how the order ships on its page."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.shopper import MUG, choose, fill_address, open_shop, order_card, pay, press_buy

pytestmark = pytest.mark.e2e


def test_shopper_chooses_express_to_france_and_sees_it_on_the_order_page(page, save_screenshot):
    open_shop(page)
    expect(page.locator("[data-shipping-note]")).to_have_text(
        "Shipping from $4.95, free over $50.00: choose your delivery at checkout."
    )
    choose(page, MUG, 2)
    press_buy(page)
    expect(
        page.get_by_role("radio", name=re.compile(r"^Express — \$14\.95, 1–2 business days"))
    ).to_be_visible()

    page.get_by_label("E-mail for your receipt").fill("marie@example.com")
    fill_address(page, country="FR", rate="Express")
    page.get_by_label("Region, state or county").fill("")
    page.get_by_label("City").fill("Paris")
    page.get_by_label("Postal code").fill("75005")
    save_screenshot(page, "local-checkout-shipping")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(page).to_have_url(re.compile(r"/$"))
    reference = re.search(
        r"[A-Z0-9]{4}-[A-Z0-9]{4}", page.locator(".messages .message").first.inner_text()
    ).group(0)
    expect(order_card(page, reference)).to_contain_text("Total $50.95")

    order_card(page, reference).get_by_role("link", name=f"Order {reference}").click()

    delivery = page.locator("[data-order-shipping]")
    expect(delivery).to_contain_text("Ada Lovelace")
    expect(delivery).to_contain_text("75005 Paris")
    expect(delivery).to_contain_text("France")
    expect(delivery).to_contain_text("Express, 1–2 business days after dispatch")
    expect(page.locator("table.order-table tfoot")).to_contain_text("Shipping (Express)")
    expect(page.locator("table.order-table tfoot")).to_contain_text("$50.95")
    save_screenshot(page, "order-shipping")


def test_a_country_not_in_the_list_cannot_be_chosen_and_a_missing_field_is_named(page):
    open_shop(page)
    choose(page, MUG, 1)
    press_buy(page)
    options = page.locator("#id_country option").all_inner_texts()
    assert "Japan" not in options and "United States of America" in options

    page.get_by_label("E-mail for your receipt").fill("ada@example.com")
    fill_address(page)
    page.get_by_label("Address line 1").fill("")
    # The browser would stop an empty required field; submit what a script might send.
    page.locator("form.panel").evaluate("form => form.noValidate = true")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()

    field = page.get_by_label("Address line 1")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_line1-error")).to_have_text("Enter the address line 1.")
    # Then paying with it filled in goes through.
    field.fill("12 Analytical Row")
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", pay(page, address=False))
