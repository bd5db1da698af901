"""A Manager's order actions in the admin, in Chromium: a note, a resent confirmation, a
canceled unpaid order, each on the timeline; an Editor is offered none of them."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.shopper import (
    MUG,
    NOTEBOOK,
    choose,
    open_shop,
    order_status,
    pay,
    press_buy,
    reference_on_payment_page,
)
from tests.e2e.staff import EDITOR, MANAGER, log_in_to_admin, open_order
from tests.support.servers import wait_until

pytestmark = pytest.mark.e2e


def _timeline(page):
    return page.get_by_role("table").filter(
        has=page.get_by_role("columnheader", name="What happened")
    )


def _sent_confirmations(shop_server, reference: str) -> int:
    """Confirmations the server's mail backend printed for the order (console e-mail)."""
    log = shop_server.log_path.read_text(errors="replace")
    return log.count(f"Subject: Your order {reference} is confirmed")


def _wait_for_confirmations(shop_server, reference: str, count: int) -> None:
    wait_until(
        lambda: _sent_confirmations(shop_server, reference) >= count,
        timeout=15,
        what=f"{count} confirmation e-mails of order {reference}",
    )
    assert _sent_confirmations(shop_server, reference) == count


def _paid_order(new_context) -> str:
    shopper = new_context().new_page()
    open_shop(shopper)
    choose(shopper, NOTEBOOK, 1)
    press_buy(shopper)
    return pay(shopper)


def test_a_manager_adds_a_note_and_resends_the_confirmation(
    new_context, shop_server, save_screenshot
):
    reference = _paid_order(new_context)
    _wait_for_confirmations(shop_server, reference, 1)
    manager = new_context().new_page()
    log_in_to_admin(manager, MANAGER)
    open_order(manager, reference)

    manager.get_by_label("Internal note").fill("Customer asked for <b>gift wrap</b>.")
    manager.get_by_role("button", name="Add note").click()
    expect(manager.locator(".messages")).to_contain_text("Note added to the timeline.")
    manager.get_by_role("button", name="Resend confirmation e-mail").click()
    expect(manager.locator(".messages")).to_contain_text("is being sent again")

    _wait_for_confirmations(shop_server, reference, 2)
    manager.reload()
    rows = _timeline(manager).locator("tbody tr")
    note = rows.filter(has_text="gift wrap")
    expect(note).to_have_count(1)
    expect(note).to_contain_text("Note")
    expect(note).to_contain_text("Admin user manager")
    expect(note).to_contain_text("Customer asked for <b>gift wrap</b>.")
    asked = rows.filter(has_text="E-mail resend asked for")
    expect(asked).to_contain_text("Admin user manager")
    expect(rows.filter(has_text="Order confirmation (sent again)")).to_have_count(1)
    # A second press within minutes sends nothing more.
    manager.get_by_role("button", name="Resend confirmation e-mail").click()
    expect(manager.locator(".messages")).to_contain_text("already asked for")
    assert _sent_confirmations(shop_server, reference) == 2
    manager.get_by_role("heading", name="Actions").scroll_into_view_if_needed()
    save_screenshot(manager, "admin-order-actions", full_page=False)
    _timeline(manager).locator("tbody tr").last.scroll_into_view_if_needed()
    save_screenshot(manager, "admin-order-actions-timeline", full_page=False)


def test_a_manager_cancels_an_unpaid_order_and_the_timeline_says_who(
    new_context, shop_server, save_screenshot
):
    shopper = new_context().new_page()
    open_shop(shopper)
    choose(shopper, MUG, 1)
    press_buy(shopper)
    reference = reference_on_payment_page(shopper)
    manager = new_context().new_page()
    log_in_to_admin(manager, MANAGER)
    open_order(manager, reference)

    manager.get_by_role("button", name="Cancel this unpaid order").click()

    expect(manager.locator(".messages")).to_contain_text(f"Order {reference} canceled")
    expect(manager.locator("[data-order-status]")).to_have_text("Canceled")
    moved = _timeline(manager).locator("tbody tr").filter(has_text="Pending → Canceled")
    expect(moved).to_contain_text("Admin user manager")
    expect(manager.get_by_role("button", name="Cancel this unpaid order")).to_have_count(0)
    assert order_status(shop_server, reference) == "canceled"
    moved.scroll_into_view_if_needed()
    save_screenshot(manager, "admin-order-canceled", full_page=False)


def test_an_editor_sees_no_action_and_the_action_url_is_forbidden(new_context, shop_server):
    reference = _paid_order(new_context)
    context = new_context()
    editor = context.new_page()
    log_in_to_admin(editor, EDITOR)
    open_order(editor, reference)

    expect(editor.locator("[data-order-actions]")).to_have_count(0)
    for name in ("Add note", re.compile("Resend"), re.compile("Cancel this")):
        expect(editor.get_by_role("button", name=name)).to_have_count(0)
    order_path = editor.url.rstrip("/").rsplit("/", 1)[0]  # /admin/orders/inspect/<pk>
    pk = editor.url.rstrip("/").rsplit("/", 1)[-1]
    assert order_path.endswith("/inspect")
    token = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
    response = editor.request.post(
        f"/admin/orders/{pk}/notes/",
        form={"text": "not mine to write"},
        headers={"X-CSRFToken": token},
    )
    assert response.status == 403
    assert "does not have the permission" in response.text()
    assert (
        shop_server.count(
            "shop_orderevent", "kind = 'note' AND message = ?", ("not mine to write",)
        )
        == 0
    )


def _dispute_arrives(shop_server, reference: str, *, status: str, phase: str) -> None:
    """Stripe's charge.dispute.<phase> for the order's payment, applied by the server's own
    webhook service (the e2e server signs with its own secret)."""
    shop_server.manage(
        "shell",
        "-c",
        "import json, time\n"
        "from shop.models import Order\n"
        "from shop.payments.stripe_json import event_from_payload\n"
        "from shop.services.webhooks import payment_event_apply\n"
        "from tests.support.events import dispute_event, dispute_object\n"
        f"order = Order.objects.get(reference={reference!r})\n"
        "due = int(time.time()) + 5 * 86400\n"
        "obj = dispute_object(payment_intent=order.payment_id, amount=order.amount_total,"
        f" status={status!r}, reason='product_not_received', due_by=due,"
        f" dispute_id='dp_e2e_' + order.reference.replace('-', ''))\n"
        f"payment_event_apply(event_from_payload(dispute_event({phase!r}, obj)))\n",
    )


def test_a_manager_finds_a_disputed_order_from_the_dashboard_and_reads_its_deadline(
    new_context, shop_server, save_screenshot
):
    reference = _paid_order(new_context)
    _dispute_arrives(shop_server, reference, status="needs_response", phase="created")
    try:
        manager = new_context().new_page()
        log_in_to_admin(manager, MANAGER)
        panel = manager.locator("[data-open-disputes]")
        expect(panel).to_contain_text("1 open dispute")
        panel.get_by_role("link", name=re.compile("open dispute")).click()
        rows = manager.locator("main table tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Disputed")
        rows.first.get_by_role("link", name=reference).first.click()

        dispute = manager.locator("[data-order-disputes] tbody tr")
        expect(dispute).to_contain_text("Product not received")
        expect(dispute).to_contain_text("Needs response")
        expect(dispute.locator("[data-dispute-due]")).to_contain_text(
            re.compile(r"\d{4}, \d\d:\d\d")
        )
        opened = _timeline(manager).locator("tbody tr").filter(has_text="Dispute opened")
        expect(opened).to_contain_text("evidence due by")
        manager.get_by_role("heading", name="Disputes").scroll_into_view_if_needed()
        save_screenshot(manager, "admin-order-dispute", full_page=False)
    finally:
        # The server is shared by the other journeys: leave no open dispute on its dashboard.
        _dispute_arrives(shop_server, reference, status="won", phase="closed")
