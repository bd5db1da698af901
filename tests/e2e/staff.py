"""What staff do in the browser: log in to the admin."""

import re

from playwright.sync_api import Page, expect


def log_in_to_admin(page: Page, credentials: tuple[str, str]) -> None:
    username, password = credentials
    page.goto("/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
