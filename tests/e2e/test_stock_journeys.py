"""Stock journeys: a shopper watches a product run out; an editor counts its stock.

Each journey tracks the stock of a product of its own, made for it, and takes that product
off sale when done: the server is shared and the other journeys' products stay untracked.
"""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import EDITOR
from tests.e2e.shopper import choose, open_shop, pay, press_buy
from tests.e2e.staff import log_in_to_admin

pytestmark = pytest.mark.e2e


def _product_make(shop_server, name: str, slug: str, *, stock: int | None) -> None:
    shop_server.manage(
        "shell",
        "-c",
        "from shop.models import Product\n"
        "from shop.services.products import product_create\n"
        f"product = product_create(name={name!r}, slug={slug!r}, description='',"
        " unit_amount=700, currency='usd', sort_order=-1)\n"
        f"Product.objects.filter(pk=product.pk).update(stock={stock!r})\n",
    )


def _take_off_sale(shop_server, slug: str) -> None:
    shop_server.manage(
        "shell",
        "-c",
        "from shop.models import Product\n"
        f"Product.objects.filter(slug={slug!r}).update(available=False, stock=None)\n",
    )


def _card(page, name: str):
    return page.locator("article.product-card").filter(
        has=page.get_by_role("heading", name=name, exact=True)
    )


def _bought(new_context, product: str, quantity: int) -> None:
    shopper = new_context().new_page()
    open_shop(shopper)
    choose(shopper, product, quantity)
    press_buy(shopper)
    pay(shopper)
    shopper.close()


def test_shopper_sees_only_two_left_then_sold_out_after_others_buy(
    new_context, shop_server, save_screenshot
):
    name, slug = "Beeswax Candle", "beeswax-candle"
    _product_make(shop_server, name, slug, stock=2)
    try:
        shopper = new_context().new_page()
        open_shop(shopper)
        card = _card(shopper, name)
        expect(card.locator(".product-card__stock")).to_have_text("Only 2 left")
        quantity = shopper.get_by_label(f"Quantity of {name}")
        expect(quantity).to_have_attribute("max", "2")
        # More than is left: the running total says why instead of adding it up.
        quantity.fill("3")
        expect(card.locator("[data-quantity-message]")).to_have_text(
            "Only 2 left: you can buy at most 2."
        )
        expect(shopper.locator("[data-cart-total]")).to_have_text("—")
        expect(shopper.locator("[data-buy-button]")).to_be_disabled()
        save_screenshot(shopper, "shop-only-two-left", full_page=False)

        _bought(new_context, name, 1)
        _bought(new_context, name, 1)

        shopper.reload()
        card = _card(shopper, name)
        expect(card.locator(".product-card__stock")).to_have_text("Sold out")
        expect(shopper.get_by_label(f"Quantity of {name}")).to_be_disabled()
        save_screenshot(shopper, "shop-sold-out", full_page=False)
        held, sold = shop_server.query(
            "SELECT COALESCE(SUM(CASE WHEN l.sold_at IS NULL AND l.hold_released_at IS NULL"
            " THEN l.held_quantity END), 0), COALESCE(SUM(CASE WHEN l.sold_at IS NOT NULL"
            " THEN l.held_quantity END), 0) FROM shop_orderline l JOIN shop_product p"
            " ON p.id = l.product_id WHERE p.slug = ?",
            (slug,),
        )[0]
        assert (held, sold) == (0, 2)
    finally:
        _take_off_sale(shop_server, slug)


def _listing_row(page, name: str):
    page.goto("/admin/snippets/shop/product/")
    return page.locator("table.listing tbody tr").filter(
        has=page.get_by_role("link", name=name, exact=True)
    )


def test_editor_sets_stock_and_sees_held_and_sold(new_context, shop_server, save_screenshot):
    name, slug = "Linen Tea Towel", "linen-tea-towel"
    _product_make(shop_server, name, slug, stock=None)
    try:
        editor = new_context().new_page()
        log_in_to_admin(editor, EDITOR)
        expect(_listing_row(editor, name)).to_contain_text("— — —")

        editor.get_by_role("link", name=name, exact=True).click()
        expect(editor.get_by_text("Leave empty not to track stock")).to_be_visible()
        editor.get_by_role("spinbutton", name="Stock").fill("5")
        editor.get_by_role("button", name="More actions").click()
        editor.get_by_role("button", name="Publish").click()
        expect(editor.locator(".messages")).to_contain_text("published")

        _bought(new_context, name, 1)
        # Another shopper is on the payment page: their two are held, not sold.
        holder = new_context().new_page()
        open_shop(holder)
        choose(holder, name, 2)
        press_buy(holder)

        row = _listing_row(editor, name)
        cells = row.locator("td")
        texts = [" ".join(text.split()) for text in cells.all_inner_texts()]
        assert texts[3:6] == ["5", "2", "1"], texts
        save_screenshot(editor, "admin-products-stock", full_page=False)

        editor.get_by_role("link", name=name, exact=True).click()
        expect(
            editor.get_by_text("5 in stock, 2 held by open checkouts, 1 sold: 2 available.")
        ).to_be_visible()
        save_screenshot(editor, "admin-product-stock-form", full_page=False)
        # Lowering the stock under what is held is allowed and said plainly.
        editor.get_by_role("spinbutton", name="Stock").fill("2")
        editor.get_by_role("button", name="More actions").click()
        editor.get_by_role("button", name="Publish").click()
        expect(editor.locator(".messages")).to_contain_text("published")
        editor.get_by_role("link", name=name, exact=True).click()
        expect(
            editor.get_by_text("2 in stock, 2 held by open checkouts, 1 sold: 0 available.")
        ).to_be_visible()

        editor.goto("/admin/")
        panel = editor.locator("#shop-stock-alerts-section")
        expect(panel.get_by_role("link", name=name, exact=True)).to_be_visible()
        expect(panel).to_contain_text(f"{name}: Sold out")
        save_screenshot(editor, "admin-dashboard-stock", full_page=False)
    finally:
        _take_off_sale(shop_server, slug)
