"""Stripe-hosted invoices for paid orders, through the real stripe SDK against the fake.

With Settings → Store settings "Hosted invoices for paid orders" on, checkout asks Stripe
for an invoice; the completed session names it, and its invoice.paid / invoice.finalized
events say where the shopper sees it (the hosted page and the PDF), in whichever order
the events arrive.
"""

import pytest
from bs4 import BeautifulSoup
from django.core import mail
from django.urls import reverse
from wagtail.models import Site

from home.models import StoreSettings
from shop.models import Order, OrderEvent, PaymentEvent, Product
from tests.shop.checkout.test_shipping_checkout import checkout, session_creates
from tests.support.events import deliver, event
from tests.support.shopper import Browser, soup_of
from tests.support.stripe_fake import FakeStripe
from tests.support.stripe_settings import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db


def invoices_on() -> None:
    settings = StoreSettings.objects.get()
    settings.hosted_invoices = True
    settings.save()


def delivered(browser: Browser, payload: dict) -> None:
    response = deliver(browser, payload, secret=WEBHOOK_SECRET)
    assert response.status_code == 200


def complete(browser: Browser, fake: FakeStripe, session_id: str) -> dict:
    paid = fake.complete_session(session_id, customer_email="ada@example.com")
    delivered(browser, event("checkout.session.completed", paid))
    return paid


def test_setting_off_sends_no_invoice_creation(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    order, session_id = checkout(browser, {mug: 1})

    (sent,) = session_creates(fake)
    assert "invoice_creation" not in sent.params
    complete(browser, fake, session_id)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert (order.invoice_id, order.invoice_hosted_url) == ("", "")
    assert not fake.invoices


def test_setting_on_asks_stripe_for_an_invoice_and_the_paid_order_stores_its_id(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    invoices_on()
    order, session_id = checkout(browser, {mug: 1})

    (sent,) = session_creates(fake)
    assert sent.params["invoice_creation"] == {"enabled": "true"}
    paid = complete(browser, fake, session_id)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert paid["invoice"].startswith("in_") and order.invoice_id == paid["invoice"]
    # No links until the invoice's own event says where it is.
    assert (order.invoice_hosted_url, order.invoice_pdf_url) == ("", "")


def test_a_retry_after_the_setting_changed_sends_what_the_first_attempt_did(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    invoices_on()
    token = browser.page_token()
    fake.inject_fault(503)
    assert browser.buy(token, {mug: 1}).status_code == 503
    settings = StoreSettings.objects.get()
    settings.hosted_invoices = False
    settings.save()

    checkout(browser, {mug: 1}, token=token)

    first, retry = session_creates(fake)
    assert first.idempotency_key == retry.idempotency_key == f"checkout-{token}"
    assert retry.params["invoice_creation"] == {"enabled": "true"}
    assert Order.objects.get().invoice_requested


def test_invoice_paid_after_completion_stores_the_links(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    invoices_on()
    order, session_id = checkout(browser, {mug: 1})
    paid = complete(browser, fake, session_id)

    delivered(browser, fake.invoice_event(paid["invoice"], "invoice.paid"))

    order.refresh_from_db()
    invoice = fake.invoices[paid["invoice"]]
    assert order.invoice_hosted_url == invoice["hosted_invoice_url"]
    assert order.invoice_pdf_url == invoice["invoice_pdf"]
    assert order.invoice_hosted_url.startswith("https://invoice.stripe.com/i/")
    assert order.invoice_pdf_url.startswith("https://pay.stripe.com/invoice/")
    assert order.timeline.filter(kind=OrderEvent.Kind.INVOICE_READY).count() == 1
    assert PaymentEvent.objects.get(type="invoice.paid").order == order


def test_finalized_then_paid_writes_one_timeline_entry(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    invoices_on()
    order, session_id = checkout(browser, {mug: 1})
    paid = complete(browser, fake, session_id)

    delivered(browser, fake.invoice_event(paid["invoice"], "invoice.finalized"))
    delivered(browser, fake.invoice_event(paid["invoice"], "invoice.paid"))

    order.refresh_from_db()
    assert order.invoice_hosted_url
    assert order.timeline.filter(kind=OrderEvent.Kind.INVOICE_READY).count() == 1


def test_invoice_paid_before_completion_is_attached_when_the_order_is_paid(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    invoices_on()
    order, session_id = checkout(browser, {mug: 1})
    paid = fake.complete_session(session_id, customer_email="ada@example.com")

    delivered(browser, fake.invoice_event(paid["invoice"], "invoice.paid"))
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.invoice_hosted_url == ""
    early = PaymentEvent.objects.get(type="invoice.paid")
    assert early.order is None

    delivered(browser, event("checkout.session.completed", paid))

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.invoice_hosted_url == fake.invoices[paid["invoice"]]["hosted_invoice_url"]
    assert order.invoice_pdf_url == fake.invoices[paid["invoice"]]["invoice_pdf"]
    early.refresh_from_db()
    assert early.order == order


@pytest.mark.parametrize(
    "hosted, pdf",
    [
        ("http://invoice.stripe.com/i/x", "javascript:alert(1)"),
        ("//evil.example/i", "data:text/html,hi"),
        (42, ["https://pay.stripe.com/x"]),
    ],
)
def test_a_url_that_is_not_https_is_ignored(
    fake: FakeStripe, browser: Browser, mug: Product, hosted, pdf
) -> None:
    invoices_on()
    order, session_id = checkout(browser, {mug: 1})
    paid = complete(browser, fake, session_id)
    invoice = {**fake.invoices[paid["invoice"]], "hosted_invoice_url": hosted, "invoice_pdf": pdf}

    delivered(browser, event("invoice.paid", invoice))

    order.refresh_from_db()
    assert (order.invoice_hosted_url, order.invoice_pdf_url) == ("", "")
    assert not order.timeline.filter(kind=OrderEvent.Kind.INVOICE_READY).exists()


def paid_with_invoice(browser: Browser, fake: FakeStripe, mug: Product) -> tuple[Order, dict]:
    invoices_on()
    order, session_id = checkout(browser, {mug: 1})
    paid = complete(browser, fake, session_id)
    delivered(browser, fake.invoice_event(paid["invoice"], "invoice.paid"))
    order.refresh_from_db()
    return order, fake.invoices[paid["invoice"]]


def test_the_order_page_links_the_invoice_and_its_pdf(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    order, invoice = paid_with_invoice(browser, fake, mug)

    page = soup_of(browser.get(f"/orders/{order.reference}/"))

    invoice_link = page.select_one("[data-invoice-link]")
    pdf_link = page.select_one("[data-invoice-pdf-link]")
    assert (invoice_link.get_text(strip=True), invoice_link["href"]) == (
        "Invoice",
        invoice["hosted_invoice_url"],
    )
    assert (pdf_link.get_text(strip=True), pdf_link["href"]) == (
        "Invoice PDF",
        invoice["invoice_pdf"],
    )


def test_without_an_invoice_the_order_page_has_no_invoice_links(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    order, session_id = checkout(browser, {mug: 1})
    complete(browser, fake, session_id)

    page = soup_of(browser.get(f"/orders/{order.reference}/"))

    assert page.select_one("[data-order-invoice]") is None


def test_the_confirmation_email_links_the_invoice_known_when_it_is_sent(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    # invoice.paid came first: the confirmation, sent once paid, already has the links.
    invoices_on()
    _, session_id = checkout(browser, {mug: 1})
    paid = fake.complete_session(session_id, customer_email="ada@example.com")
    delivered(browser, fake.invoice_event(paid["invoice"], "invoice.paid"))
    mail.outbox.clear()

    delivered(browser, event("checkout.session.completed", paid))

    invoice = fake.invoices[paid["invoice"]]
    (message,) = mail.outbox
    assert f"Invoice: {invoice['hosted_invoice_url']}" in message.body
    assert f"Invoice PDF: {invoice['invoice_pdf']}" in message.body
    html = BeautifulSoup(message.alternatives[0][0], "html.parser")
    links = {a.get_text(strip=True): a["href"] for a in html.find_all("a")}
    assert links["Invoice"] == invoice["hosted_invoice_url"]
    assert links["Invoice PDF"] == invoice["invoice_pdf"]


def test_the_confirmation_email_without_an_invoice_names_none(
    fake: FakeStripe, browser: Browser, mug: Product
) -> None:
    _, session_id = checkout(browser, {mug: 1})
    mail.outbox.clear()

    complete(browser, fake, session_id)

    (message,) = mail.outbox
    assert "Invoice" not in message.body


def test_the_admin_order_view_shows_the_invoice_and_its_links(
    fake: FakeStripe, browser: Browser, mug: Product, editor_client
) -> None:
    order, invoice = paid_with_invoice(browser, fake, mug)

    page = soup_of(editor_client.get(reverse("orders:inspect", args=[order.pk])))

    hrefs = {a.get_text(strip=True): a["href"] for a in page.find_all("a")}
    assert hrefs["Invoice"] == invoice["hosted_invoice_url"]
    assert hrefs["PDF"] == invoice["invoice_pdf"]
    assert order.invoice_id in page.get_text()


def test_an_administrator_turns_hosted_invoices_on_in_store_settings(admin_client) -> None:
    site = Site.objects.get(is_default_site=True)
    url = reverse("wagtailsettings:edit", args=["home", "storesettings", site.pk])
    form = soup_of(admin_client.get(url))
    field = form.find("input", attrs={"name": "hosted_invoices"})
    assert field is not None and not field.has_attr("checked")
    assert "an invoice that the payment provider e-mails to the shopper" in " ".join(
        form.get_text().split()
    )

    response = admin_client.post(
        url,
        {
            "store_name": "Storefront",
            "low_stock_threshold": "5",
            "ship_to_countries": ["US"],
            "tax_behavior": "exclusive",
            "test_tax_rate": "20",
            "hosted_invoices": "on",
        },
    )

    assert response.status_code == 302
    assert StoreSettings.for_site(site).hosted_invoices is True
