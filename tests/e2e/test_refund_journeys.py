"""Refund journeys: a Manager refunds one line of a paid order and reads it on the order's
page and timeline; an Editor sees no Refund button and is refused the refund page."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.e2e.conftest import EDITOR
from tests.e2e.shopper import choose, open_shop, pay, press_buy
from tests.e2e.staff import MANAGER, log_in_to_admin

pytestmark = pytest.mark.e2e


def _paid_order(new_context) -> str:
    shopper = new_context().new_page()
    open_shop(shopper)
    choose(shopper, "Stoneware Mug", 1)
    choose(shopper, "Canvas Tote", 2)
    press_buy(shopper)
    reference = pay(shopper)
    shopper.close()
    return reference


def _order_id(shop_server, reference: str) -> int:
    return shop_server.query("SELECT id FROM shop_order WHERE reference = ?", (reference,))[0][0]


def test_manager_refunds_one_line_and_sees_it_on_the_timeline(
    new_context, shop_server, save_screenshot
):
    reference = _paid_order(new_context)
    order_id = _order_id(shop_server, reference)
    manager = new_context().new_page()
    log_in_to_admin(manager, MANAGER)

    manager.goto(reverse("orders:inspect", args=[order_id]))
    manager.get_by_role("link", name="Refund").click()
    expect(manager.get_by_text("left to refund: $67.00")).to_be_visible()
    manager.get_by_label("Chosen lines and quantities").check()
    manager.get_by_role("spinbutton", name=re.compile("Canvas Tote")).fill("1")
    manager.get_by_label("Reason").select_option("requested_by_customer")
    save_screenshot(manager, "admin-order-refund-form", full_page=True)
    manager.get_by_role("button", name="Refund", exact=True).click()

    expect(manager).to_have_url(
        re.compile(re.escape(reverse("orders:inspect", args=[order_id])) + "$")
    )
    expect(manager.locator(".messages")).to_contain_text("Refunded $24.50.")
    refunds = manager.locator("[data-order-refunds]")
    expect(refunds).to_contain_text("Canvas Tote × 1")
    expect(refunds).to_contain_text("Succeeded")
    expect(refunds).to_contain_text("manager")
    timeline = manager.locator("[data-order-timeline]")
    expect(timeline.locator("[data-timeline-kind=refund_requested]")).to_contain_text(
        "$24.50 (requested by the customer): Canvas Tote × 1"
    )
    expect(timeline.locator("[data-timeline-kind=refund_succeeded]")).to_have_count(1)
    expect(manager.locator("[data-order-status]").first).to_have_text("Partially refunded")
    save_screenshot(manager, "admin-order-refund-message", full_page=False)
    manager.locator("[data-order-refunds]").scroll_into_view_if_needed()
    save_screenshot(manager, "admin-order-refunded", full_page=True)
    assert shop_server.query(
        "SELECT status, amount_refunded FROM shop_order WHERE id = ?", (order_id,)
    ) == [("partially_refunded", 2450)]


def test_editor_sees_no_refund_button_and_gets_403_on_the_refund_page(new_context, shop_server):
    reference = _paid_order(new_context)
    order_id = _order_id(shop_server, reference)
    editor = new_context().new_page()
    log_in_to_admin(editor, EDITOR)

    editor.goto(reverse("orders:inspect", args=[order_id]))
    expect(editor.get_by_role("heading", name=re.compile(reference))).to_be_visible()
    expect(editor.get_by_role("link", name="Refund")).to_have_count(0)

    response = editor.goto(reverse("orders:refund", args=[order_id]))
    assert response.status == 403
    expect(editor.get_by_text("needs the “Can refund orders” permission")).to_be_visible()
    assert shop_server.count("shop_refund", "order_id = ?", (order_id,)) == 0
