"""Fulfilment journeys: an operator in the Fulfilment group ships a paid order with tracking,
prints its packing slip, and the shopper sees the tracking link; an editor cannot ship.

The demo accounts come from ``seed_shop --demo-users``: fulfilment/fulfilment (Fulfilment
group) and editor/editor (Editors).
"""

import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import EDITOR
from tests.e2e.shopper import MUG, TOTE, choose, open_shop, order_card, pay, press_buy
from tests.e2e.staff import FULFILMENT, log_in_to_admin

pytestmark = pytest.mark.e2e

TRACKING = "https://track.example.com/parcel/RM123456789GB"


def _shipped_emails(shop_server, reference: str, offset: int) -> int:
    """Shipped e-mails the server sent for the order (the console backend prints them)."""
    subject = f"Subject: Your order {reference} has shipped"
    return shop_server.log_since(offset, max_lines=100_000).count(subject)


def _email_sent_entries(shop_server, reference: str) -> int:
    return shop_server.query(
        "SELECT COUNT(*) FROM shop_orderevent e JOIN shop_order o ON o.id = e.order_id"
        " WHERE o.reference = ? AND e.kind = 'email_sent' AND e.message = 'Order shipped'",
        (reference,),
    )[0][0]


def test_fulfilment_operator_ships_with_tracking_and_the_shopper_sees_the_link_in_one_email(
    new_context, shop_server, save_screenshot
):
    shopper = new_context().new_page()
    open_shop(shopper)
    choose(shopper, MUG, 2)
    choose(shopper, TOTE, 1)
    press_buy(shopper)
    # The test payment page asks for the address and rate (the default: Standard, to the US).
    reference = pay(shopper, "ada@example.com")
    (order_id,) = shop_server.query("SELECT id FROM shop_order WHERE reference = ?", (reference,))[
        0
    ]
    log_offset = shop_server.log_size()

    operator = new_context().new_page()
    log_in_to_admin(operator, FULFILMENT)
    # The dashboard lists the order as waiting to ship.
    expect(operator.locator("#shop-shipping-queue-section")).to_contain_text(reference)
    operator.get_by_role("link", name="Ship orders").click()
    expect(operator.locator(f'[data-waiting-order="{reference}"]')).to_contain_text("Springfield")
    save_screenshot(operator, "admin-ship-orders")
    operator.goto(f"/admin/orders/inspect/{order_id}/")
    shipment = operator.locator("[data-order-shipment]")
    expect(shipment).to_contain_text("Not shipped")
    expect(shipment).to_contain_text("12 Analytical Row")
    save_screenshot(operator, "admin-order-ship-button")

    second = new_context().new_page()
    log_in_to_admin(second, FULFILMENT)
    second.goto(f"/admin/orders/ship/{order_id}/")
    operator.get_by_role("link", name="Mark as shipped").click()
    expect(operator.locator("#header-title")).to_have_text(f"Mark order {reference} as shipped")
    operator.get_by_label("Carrier").fill("Royal Mail")
    operator.get_by_label("Tracking number").fill("RM123456789GB")
    operator.get_by_label("Tracking URL").fill(TRACKING)
    save_screenshot(operator, "admin-order-ship-form")
    operator.get_by_role("button", name="Mark as shipped").click()

    expect(operator).to_have_url(re.compile(rf"/admin/orders/inspect/{order_id}/$"))
    expect(operator.locator(".messages")).to_contain_text(
        f"Order {reference} marked as shipped with Royal Mail"
    )
    expect(shipment.locator("[data-fulfilment-status]")).to_have_text("Shipped")
    expect(operator.get_by_role("link", name="Mark as shipped")).to_have_count(0)
    timeline = operator.locator('[data-order-timeline] [data-timeline-kind="shipped"]')
    expect(timeline).to_contain_text("Admin user fulfilment")

    # A second operator had the same form open: their submission is refused, nothing changes.
    second.get_by_label("Carrier").fill("DHL")
    second.get_by_role("button", name="Mark as shipped").click()
    expect(second).to_have_url(re.compile(rf"/admin/orders/inspect/{order_id}/$"))
    expect(second.locator(".messages")).to_contain_text("was already shipped")
    expect(second.locator("[data-order-shipment]")).to_contain_text("with Royal Mail")

    slip = second
    slip.set_viewport_size({"width": 900, "height": 1100})
    slip_url = operator.locator("[data-packing-slip]").get_attribute("href")
    slip.goto(slip_url)
    expect(slip.locator("[data-ship-to]")).to_contain_text("Ada Lovelace")
    expect(slip.locator("[data-lines]")).to_contain_text(MUG)
    expect(slip.locator("[data-rate]")).to_contain_text("Standard")
    save_screenshot(slip, "admin-packing-slip")

    shopper.reload()
    link = order_card(shopper, reference).locator("a[data-tracking-link]")
    expect(link).to_have_attribute("href", TRACKING)
    expect(order_card(shopper, reference)).to_contain_text("with Royal Mail")
    order_card(shopper, reference).get_by_role("link", name=f"Order {reference}").click()
    detail_link = shopper.get_by_role("link", name="Track your parcel")
    expect(detail_link).to_have_attribute("href", TRACKING)
    assert "noopener" in detail_link.get_attribute("rel").split()
    expect(shopper.locator("[data-order-timeline]")).to_contain_text("Shipped")
    save_screenshot(shopper, "shop-order-shipped")

    deadline = time.monotonic() + 15
    while _email_sent_entries(shop_server, reference) < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # room for a second e-mail, were one on its way
    assert _email_sent_entries(shop_server, reference) == 1
    assert _shipped_emails(shop_server, reference, log_offset) == 1
    assert TRACKING in shop_server.log_since(log_offset, max_lines=100_000)


def test_editor_sees_no_ship_button_and_gets_403_on_the_ship_page(new_context, shop_server):
    shopper = new_context().new_page()
    open_shop(shopper)
    choose(shopper, MUG, 1)
    press_buy(shopper)
    reference = pay(shopper, "grace@example.com")
    (order_id,) = shop_server.query("SELECT id FROM shop_order WHERE reference = ?", (reference,))[
        0
    ]

    editor = new_context().new_page()
    log_in_to_admin(editor, EDITOR)
    editor.goto(f"/admin/orders/inspect/{order_id}/")
    expect(editor.locator("[data-order-shipment]")).to_contain_text("Not shipped")
    expect(editor.get_by_role("link", name="Mark as shipped")).to_have_count(0)

    response = editor.goto(f"/admin/orders/ship/{order_id}/")

    assert response.status == 403
    expect(editor.get_by_role("heading", name="You cannot ship orders")).to_be_visible()
    rows = shop_server.query(
        "SELECT fulfilment_status FROM shop_order WHERE reference = ?", (reference,)
    )
    assert rows == [("unfulfilled",)]
