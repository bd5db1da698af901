"""A shopper searches the shop and lands on the product they looked for."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.shopper import NOTEBOOK

pytestmark = pytest.mark.e2e


def test_shopper_searches_a_plural_and_lands_on_the_highlighted_product(page, save_screenshot):
    page.goto("/")
    page.get_by_role("searchbox", name="Search the shop").fill("notebooks")
    page.get_by_role("button", name="Search").click()

    result = page.locator(".search-results li").filter(has_text=NOTEBOOK)
    expect(result).to_contain_text("$")
    picture = result.locator("img")
    expect(picture).to_have_attribute("src", re.compile(r"fill-160x105"))
    expect(picture).to_have_js_property("complete", True)
    assert picture.evaluate("(img) => img.naturalWidth") == 160
    save_screenshot(page, "search-results")

    result.get_by_role("link", name=NOTEBOOK).click()
    expect(page).to_have_url(re.compile(r"/#product-\d+-name$"))
    card = page.locator("article.product-card").filter(
        has=page.get_by_role("heading", name=NOTEBOOK, exact=True)
    )
    expect(card).to_be_in_viewport()
    expect(card).to_have_css("outline-style", "solid")
    # Only the product searched for stands out.
    expect(page.locator("article.product-card").nth(0)).to_have_css("outline-style", "none")
    save_screenshot(page, "search-landing", full_page=False)
