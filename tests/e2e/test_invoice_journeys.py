"""A paid order's Stripe invoice, in Chromium: once Stripe's invoice.paid names the order's
invoice, the shopper's order page links the hosted invoice and its PDF.

The e2e server pays through the local gateway, which makes no invoices; the order is given
the invoice id a Stripe session would have named, and Stripe's event is applied by the
server's own webhook service.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.shopper import NOTEBOOK, choose, open_shop, pay, press_buy

pytestmark = pytest.mark.e2e

HOSTED = "https://invoice.stripe.com/i/acct_e2e/test_e2e"
PDF = "https://pay.stripe.com/invoice/acct_e2e/test_e2e/pdf"


def _invoice_paid(shop_server, reference: str) -> None:
    shop_server.manage(
        "shell",
        "-c",
        "from shop.models import Order\n"
        "from shop.payments.stripe_json import event_from_payload\n"
        "from shop.services.webhooks import payment_event_apply\n"
        "from tests.support.events import event\n"
        f"Order.objects.filter(reference={reference!r}).update(invoice_id='in_e2e')\n"
        "invoice = {'id': 'in_e2e', 'object': 'invoice', 'status': 'paid',"
        f" 'hosted_invoice_url': {HOSTED!r}, 'invoice_pdf': {PDF!r}}}\n"
        "payment_event_apply(event_from_payload(event('invoice.paid', invoice)))\n",
    )


def test_the_shopper_opens_the_invoice_from_the_paid_order_page(
    new_context, shop_server, save_screenshot
):
    shopper = new_context().new_page()
    open_shop(shopper)
    choose(shopper, NOTEBOOK, 1)
    press_buy(shopper)
    reference = pay(shopper)
    shopper.goto(f"{shop_server.url}/orders/{reference}/")
    expect(shopper.get_by_role("link", name="Invoice", exact=True)).to_have_count(0)

    _invoice_paid(shop_server, reference)
    shopper.reload()

    invoice = shopper.get_by_role("link", name="Invoice", exact=True)
    expect(invoice).to_have_attribute("href", HOSTED)
    expect(shopper.get_by_role("link", name="Invoice PDF")).to_have_attribute("href", PDF)
    expect(shopper.locator("h1")).to_have_text(re.compile(reference))
    save_screenshot(shopper, "order-invoice-links")
