"""Editor journeys in the Wagtail admin, as a member of the Editors group (journeys 9–11).

They run after the shopper journeys (see conftest): they change the catalogue.
"""

import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from shop.money import format_money
from tests.e2e.shopper import (
    NOTEBOOK,
    choose,
    open_shop,
    order_card,
    order_lines,
    pay,
    press_buy,
)
from tests.e2e.staff import SUPERUSER
from tests.e2e.staff import log_in_to_admin as _log_in_to_admin
from tests.e2e.staff import open_shop_menu_item as _open_shop_menu_item

pytestmark = pytest.mark.e2e


def _admin_message(page):
    return page.locator(".messages")


def _publish(page) -> None:
    page.get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Publish").click()
    expect(_admin_message(page)).to_contain_text("published")


def _product_card(page, name: str):
    return page.locator("article.product-card").filter(
        has=page.get_by_role("heading", name=name, exact=True)
    )


def _bought(new_context, product: str, quantity: int):
    """A shopper (their own browser context) who has bought and paid; (page, reference)."""
    shopper = new_context().new_page()
    open_shop(shopper)
    choose(shopper, product, quantity)
    press_buy(shopper)
    return shopper, pay(shopper)


def test_editor_drafts_previews_and_publishes_a_price_and_past_orders_keep_theirs(new_context):
    shopper, reference = _bought(new_context, NOTEBOOK, 2)

    editor = new_context().new_page()
    _log_in_to_admin(editor)
    _open_shop_menu_item(editor, "Products")
    editor.get_by_role("link", name=NOTEBOOK, exact=True).click()
    editor.get_by_role("textbox", name="Price*").fill("14.00")
    editor.get_by_role("button", name="Save draft").click()
    expect(_admin_message(editor)).to_contain_text(f"Product '{NOTEBOOK}' updated")

    # A draft is not for sale.
    shopper.reload()
    expect(_product_card(shopper, NOTEBOOK)).to_contain_text("$12.75")

    editor.get_by_role("button", name="Toggle preview").click()
    preview = editor.frame_locator("#w-preview-iframe")
    expect(preview.locator(".product-card__price")).to_contain_text("$14.00")

    _publish(editor)
    shopper.reload()
    expect(_product_card(shopper, NOTEBOOK)).to_contain_text("$14.00")
    card = order_card(shopper, reference)
    assert order_lines(card) == [f"{NOTEBOOK} × 2 at $12.75"]
    # $25.50 of notebooks and $4.95 Standard shipping, at the old price.
    expect(card.locator(".order__total")).to_have_text("Total $30.45")


def test_editor_adds_a_product_with_an_image_then_takes_it_off_sale(new_context, tmp_path):
    name = "Linen Napkins"
    picture = tmp_path / "linen-napkins.png"
    Image.new("RGB", (1200, 800), (186, 160, 120)).save(picture)

    editor = new_context().new_page()
    _log_in_to_admin(editor)
    _open_shop_menu_item(editor, "Products")
    editor.get_by_role("link", name="Add product").click()
    editor.get_by_role("textbox", name="Name*").press_sequentially(name)
    # The slug follows the name as it is typed; nobody has to invent one.
    expect(editor.get_by_role("textbox", name="Slug")).to_have_value("linen-napkins")
    # A decimal comma is twelve fifty, not twelve hundred and fifty.
    editor.get_by_role("textbox", name="Price*").fill("9,50")

    editor.get_by_role("button", name="Choose an image").click()
    chooser = editor.locator(".modal[role='dialog']")
    chooser.get_by_role("tab", name=re.compile(r"^Upload")).click()
    chooser.get_by_label("File*").set_input_files(picture)
    chooser.get_by_label("Title*").fill(name)
    chooser.get_by_role("button", name="Upload").click()
    expect(chooser).to_be_hidden()
    _publish(editor)

    shopper = new_context().new_page()
    open_shop(shopper)
    card = _product_card(shopper, name)
    expect(card).to_contain_text("$9.50")
    image = card.get_by_role("img", name=name)
    expect(image).to_have_attribute("src", re.compile(r"fill-640x420"))
    # Loaded, at the rendition's size (the upload was 1200×800).
    expect(image).to_have_js_property("naturalWidth", 640)

    editor.get_by_role("link", name=name, exact=True).click()
    editor.get_by_role("checkbox", name="Available").uncheck()
    _publish(editor)
    shopper.reload()
    expect(_product_card(shopper, name)).to_have_count(0)


def test_editor_finds_an_order_by_reference_and_cannot_change_it(new_context):
    _, reference = _bought(new_context, NOTEBOOK, 1)

    editor = new_context().new_page()
    _log_in_to_admin(editor)
    _open_shop_menu_item(editor, "Orders")
    editor.get_by_label("Search term").fill(reference)
    editor.get_by_label("Search term").press("Enter")
    results = editor.locator("main table tbody tr")
    expect(results).to_have_count(1)
    results.get_by_role("link", name=reference).first.click()

    expect(editor.locator("main")).to_contain_text(reference)
    editable = re.compile(r"\b(edit|delete|save|publish)\b", re.IGNORECASE)
    expect(editor.locator("main").get_by_role("button", name=editable)).to_have_count(0)
    expect(editor.locator("main").get_by_role("link", name=editable)).to_have_count(0)
    expect(editor.locator("main form[method='post' i]")).to_have_count(0)


def test_superuser_reads_the_order_timeline_on_its_inspect_page(
    new_context, save_screenshot, shop_server
):
    _, reference = _bought(new_context, NOTEBOOK, 1)
    # Whatever the notebook costs by now (an editor journey may have changed its price).
    ((amount_total, currency),) = shop_server.query(
        "SELECT amount_total, currency FROM shop_order WHERE reference = ?", (reference,)
    )

    admin = new_context().new_page()
    _log_in_to_admin(admin, SUPERUSER)
    _open_shop_menu_item(admin, "Orders")
    admin.get_by_label("Search term").fill(reference)
    admin.get_by_label("Search term").press("Enter")
    admin.locator("main table tbody tr").get_by_role("link", name=reference).first.click()

    timeline = admin.get_by_role("table").filter(
        has=admin.get_by_role("columnheader", name="What happened")
    )
    rows = timeline.locator("tbody tr")
    expect(rows.first).to_contain_text("Placed")
    expect(rows.first).to_contain_text("Checkout")
    expect(rows.nth(1)).to_contain_text("Payment received: Pending → Paid")
    expect(rows.nth(1)).to_contain_text(f"{format_money(amount_total, currency)} received")
    timeline.scroll_into_view_if_needed()
    save_screenshot(admin, "admin-order-timeline", full_page=False)


def _broken_images(page) -> list[str]:
    return page.evaluate(
        """() => [...document.images]
            .filter((img) => img.offsetParent !== null && !(img.complete && img.naturalWidth > 0))
            .map((img) => img.src)"""
    )


def test_editor_sees_the_dashboard_headed_with_the_store_name_and_no_broken_avatar(
    new_context, save_screenshot
):
    editor = new_context().new_page()
    _log_in_to_admin(editor)

    expect(editor.get_by_role("heading", level=1)).to_have_text("Storefront")
    panel = editor.locator("#shop-orders-summary-section")
    expect(panel).to_contain_text("unfinished checkout")
    expect(panel).not_to_contain_text("manage.py")
    editor.wait_for_load_state("networkidle")
    assert _broken_images(editor) == []
    save_screenshot(editor, "admin-dashboard")


def test_editor_reads_order_statuses_by_colour_and_text_and_one_date_format(
    new_context, save_screenshot
):
    _, reference = _bought(new_context, NOTEBOOK, 1)

    editor = new_context().new_page()
    _log_in_to_admin(editor)
    _open_shop_menu_item(editor, "Orders")
    row = editor.locator("main table tbody tr").filter(has_text=reference)
    badge = row.locator(".order-status[data-order-status]")
    expect(badge).to_have_text("Paid")
    # Green on a pale green, unlike Wagtail's uniform grey tag.
    expect(badge).to_have_css("color", "rgb(29, 107, 58)")
    expect(badge).to_have_css("background-color", "rgb(228, 244, 234)")
    created = row.locator("td").nth(1).inner_text().strip()
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}", created), created
    save_screenshot(editor, "admin-orders")

    row.get_by_role("link", name=reference).first.click()
    expect(editor.locator("main .order-status[data-order-status]")).to_have_text("Paid")
    expect(editor.locator("main")).to_contain_text(created)
