"""What a shopper does on the pages, in the words they would use: shared by the journeys."""

import re

from playwright.sync_api import Page, expect

MUG = "Stoneware Mug"  # $18.00
TOTE = "Canvas Tote"  # $24.50
NOTEBOOK = "Dot-Grid Notebook"  # $12.75
EMAIL = "shopper@example.com"
REFERENCE = re.compile(r"[A-Z0-9]{4}-[A-Z0-9]{4}")


def open_shop(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("button", name="Buy")).to_be_visible()


def choose(page: Page, product: str, quantity: int) -> None:
    page.get_by_label(f"Quantity of {product}").fill(str(quantity))


def buy_button(page: Page):
    return page.locator("[data-buy-button]")


def press_buy(page: Page) -> None:
    """Buy, and wait for the local test payment page."""
    buy_button(page).click()
    expect(page).to_have_url(re.compile(r"/checkout/local/cs_"))


def payment_lines(page: Page) -> list[list[str]]:
    """The payment page's table rows: [item, quantity, unit price, amount]."""
    rows = page.locator("table.order-table tbody tr")
    return [[cell.strip() for cell in row.locator("td").all_inner_texts()] for row in rows.all()]


def fill_address(page: Page, *, country: str = "US", rate: str = "Standard") -> None:
    """Type a delivery address on the local payment page (``country`` an ISO code) and
    choose a rate by its name."""
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Address line 1").fill("12 Analytical Row")
    page.get_by_label("City").fill("Springfield")
    page.get_by_label("Postal code").fill("62701")
    page.get_by_label("Region, state or county").fill("IL")
    page.get_by_label("Country").select_option(value=country)
    page.get_by_role("radio", name=re.compile(rf"^{rate} ")).check()


def pay(page: Page, email: str = EMAIL, *, address: bool = True) -> str:
    """Pay on the local payment page; back on the shop, the reference of the paid order.

    ``address``: type the default address and the Standard rate first (the shop ships).
    """
    page.get_by_label("E-mail for your receipt").fill(email)
    if address:
        fill_address(page)
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(page).to_have_url(re.compile(r"/$"))
    message = page.locator(".messages .message").first
    expect(message).to_contain_text(re.compile(r"Order [A-Z0-9]{4}-[A-Z0-9]{4} is paid"))
    return REFERENCE.search(message.inner_text()).group(0)


def decline(page: Page) -> None:
    page.get_by_role("button", name="Decline (simulate a declined card)").click()


def cancel(page: Page) -> None:
    page.get_by_role("button", name="Cancel and return to the shop").click()
    expect(page).to_have_url(re.compile(r"/$"))


def order_card(page: Page, reference: str):
    """The order's entry under My orders on the shop page (or the order history)."""
    return page.locator("article.order").filter(
        has=page.get_by_role("heading", name=f"Order {reference}")
    )


def my_orders(page: Page):
    return page.locator("#my-orders article.order")


def order_lines(card) -> list[str]:
    return [" ".join(text.split()) for text in card.locator(".order__lines li").all_inner_texts()]


def reference_on_payment_page(page: Page) -> str:
    heading = page.get_by_role("heading", level=1).inner_text()
    return REFERENCE.search(heading).group(0)


def order_status(server, reference: str) -> str:
    """The order's status as the server's database has it."""
    rows = server.query("SELECT status FROM shop_order WHERE reference = ?", (reference,))
    assert rows, f"no order {reference} in the server's database"
    return rows[0][0]


def checkout_counts(server) -> tuple[int, int]:
    """(orders, local payment sessions) in the server's database."""
    return server.count("shop_order"), server.count("shop_localcheckoutsession")
