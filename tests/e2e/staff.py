"""What staff do in the Wagtail admin, in their words: shared by the admin journeys."""

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import EDITOR

# Created by seed_shop --demo-users (DEBUG only), like EDITOR.
MANAGER = ("manager", "manager")
FULFILMENT = ("fulfilment", "fulfilment")
SUPERUSER = ("admin", "admin")


def log_in_to_admin(page: Page, account: tuple[str, str] = EDITOR) -> None:
    username, password = account
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))


def open_shop_menu_item(page: Page, item: str) -> None:
    page.get_by_role("button", name="Shop").click()
    page.get_by_role("list", name="Shop").get_by_role("link", name=item).click()


def open_order(page: Page, reference: str) -> None:
    """Find the order by its reference in Shop → Orders and open its page."""
    open_shop_menu_item(page, "Orders")
    page.get_by_label("Search term").fill(reference)
    page.get_by_label("Search term").press("Enter")
    page.locator("main table tbody tr").get_by_role("link", name=reference).first.click()
    expect(page.locator("main")).to_contain_text(reference)
