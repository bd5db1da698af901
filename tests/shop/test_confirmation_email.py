"""One confirmation e-mail per paid order, however often and wherever payment is confirmed."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from django.conf import settings
from django.core import mail
from django.test import Client, override_settings
from wagtail.models import Site

from home.models import StoreSettings
from shop import tasks
from shop.models import Order, Product, Source
from shop.payments.local import LocalGateway
from shop.payments.stripe import STRIPE_API_VERSION
from shop.payments.stripe_json import event_from_payload
from shop.services.fulfilment import order_fulfil
from shop.services.webhooks import payment_event_apply
from shop.shoppers import GUEST_TOKEN_SESSION_KEY
from tests.support.mail_backends import FlakyBackend
from tests.support.orders import order_paid_at_gateway
from tests.support.shopper import Browser, location, pay_form

FLAKY_BACKEND = "tests.support.mail_backends.FlakyBackend"


class ClientOnPort(Client):
    """A browser talking to a server listening on ``port`` (the test client says 80)."""

    def __init__(self, port: int, **defaults) -> None:
        super().__init__(**defaults)
        self.port = str(port)

    def generic(self, *args, **extra):
        return super().generic(*args, **{"SERVER_PORT": self.port, **extra})


@pytest.fixture
def no_retry_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "RETRY_DELAY_SECONDS", 0)


def _completed(session: dict, event_id: str = "evt_local_1") -> dict:
    return {
        "id": event_id,
        "api_version": STRIPE_API_VERSION,
        "type": "checkout.session.completed",
        "data": {"object": session},
    }


@pytest.fixture
def deliver(django_capture_on_commit_callbacks) -> Callable[[dict], None]:
    """Deliver a webhook event and run what it queued after commit, as production does."""

    def _deliver(event: dict) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            payment_event_apply(event_from_payload(event))

    return _deliver


# -- the message -----------------------------------------------------------------------


def test_paid_order_gets_a_text_and_html_email_with_reference_lines_total_and_link(shop, deliver):
    order, paid = order_paid_at_gateway({"stoneware-mug": 2, "dot-grid-notebook": 1})

    deliver(_completed(paid))

    (message,) = mail.outbox
    order.refresh_from_db()
    link = f"http://testserver/orders/{order.reference}/"
    assert message.to == ["ada@example.com"]
    assert message.subject == f"Your order {order.reference} is confirmed"
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    text = message.body
    assert order.reference in text
    assert "Stoneware Mug x 2 at $18.00 = $36.00" in text
    assert "Dot-Grid Notebook x 1 at $12.75 = $12.75" in text
    # The lines, the Standard rate (under its free threshold) and the address it ships to.
    assert "Subtotal: $48.75" in text and "Shipping (Standard): $4.95" in text
    assert "Total: $53.70" in text
    assert "Delivery: Standard, 3–5 business days after dispatch, to:" in text
    assert "Ada Lovelace" in text and "62701 Springfield" in text and "United States" in text
    assert link in text
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    page = BeautifulSoup(html, "html.parser")
    rows = [[td.get_text(strip=True) for td in tr.find_all("td")] for tr in page.tbody("tr")]
    assert rows == [
        ["Stoneware Mug", "2", "$18.00", "$36.00"],
        ["Dot-Grid Notebook", "1", "$12.75", "$12.75"],
    ]
    assert order.reference in page.get_text()
    assert "$48.75" in page.tfoot.get_text() and "$53.70" in page.tfoot.get_text()
    assert "Springfield" in page.address.get_text() and "3–5 business days" in page.get_text()
    assert page.find("a", href=lambda href: href.startswith(link + "?key="))
    assert order.confirmation_emailed_at is not None


@override_settings(DEFAULT_FROM_EMAIL="Northwind Pottery <orders@northwind.example>")
def test_email_names_the_store_and_its_support_address_and_comes_from_the_shop_sender(
    shop, deliver
):
    store = StoreSettings.for_site(Site.objects.get(is_default_site=True))
    store.store_name, store.support_email = "Northwind Pottery", "help@northwind.example"
    store.save()
    order, paid = order_paid_at_gateway({"stoneware-mug": 1})

    deliver(_completed(paid))

    (message,) = mail.outbox
    assert message.from_email == "Northwind Pottery <orders@northwind.example>"
    assert message.reply_to == ["help@northwind.example"]
    assert "Thank you for your order at Northwind Pottery." in message.body
    assert "Questions? Write to help@northwind.example" in message.body
    assert "Stoneware Mug x 1 at $18.00 = $18.00" in message.body
    assert "Total: $22.95" in message.body
    html = BeautifulSoup(message.alternatives[0][0], "html.parser")
    assert "Northwind Pottery" in html.h1.get_text()
    assert html.find("a", href="mailto:help@northwind.example")
    sent = message.message()
    assert sent["Message-ID"] == f"<order-{order.reference}.confirmation@northwind.example>"


@override_settings(SITE_URL="https://shop.example")
def test_email_links_to_the_public_site_url_when_one_is_configured(shop, deliver):
    order, paid = order_paid_at_gateway({"canvas-tote": 1})

    deliver(_completed(paid))

    (message,) = mail.outbox
    assert f"https://shop.example/orders/{order.reference}/" in message.body


def test_email_links_to_the_host_and_port_the_shopper_checked_out_on(shop):
    # The shop runs on 127.0.0.1:8123 and SITE_URL is not set: the e-mail, sent from the
    # webhook long after the checkout request, still links there.
    browser = Browser(ClientOnPort(8123, HTTP_HOST="127.0.0.1:8123"))
    mug = Product.objects.get(slug="stoneware-mug")
    token = browser.page_token()
    payment_page = urlsplit(browser.buy(token, {mug: 1})["Location"]).path

    success_url = location(browser.post(payment_page, pay_form("a@b.example")))

    order = Order.objects.get(checkout_token=token)
    assert success_url.startswith("http://127.0.0.1:8123/checkout/success/")
    (message,) = mail.outbox
    assert f"http://127.0.0.1:8123/orders/{order.reference}/" in message.body


def test_email_link_opens_the_order_on_another_device_without_logging_in(shop, deliver):
    order, paid = order_paid_at_gateway({"canvas-tote": 1})
    deliver(_completed(paid))
    link = urlsplit(re.search(r"http://testserver/orders/\S+", mail.outbox[0].body).group())

    response = Client().get(f"{link.path}?{link.query}")

    assert response.status_code == 200
    assert f"Order {order.reference}" in response.content.decode()
    assert "Canvas Tote" in response.content.decode()


def test_email_link_opens_the_order_page_for_the_shopper(shop, deliver, client):
    order, paid = order_paid_at_gateway({"canvas-tote": 1})
    deliver(_completed(paid))
    path = "/" + mail.outbox[0].body.split("http://testserver/", 1)[1].split()[0]
    browser_session = client.session
    browser_session[GUEST_TOKEN_SESSION_KEY] = order.guest_token
    browser_session.save()

    response = client.get(path)

    assert path.startswith(f"/orders/{order.reference}/?key=")
    assert response.status_code == 200
    assert order.reference in response.content.decode()


# -- exactly once ----------------------------------------------------------------------


def test_replayed_events_and_the_success_page_send_no_second_email(
    shop, deliver, django_capture_on_commit_callbacks
):
    order, paid = order_paid_at_gateway({"stoneware-mug": 1})
    session = LocalGateway().retrieve_session(paid["id"])

    deliver(_completed(paid, "evt_local_1"))
    deliver(_completed(paid, "evt_local_1"))
    deliver(_completed(paid, "evt_local_2"))
    with django_capture_on_commit_callbacks(execute=True):
        order_fulfil(session=session, source=Source.success_page())
    tasks.order_confirmation_send.enqueue(order.pk)

    assert len(mail.outbox) == 1


def test_no_email_and_no_claim_when_the_order_has_no_address(shop, deliver):
    order, paid = order_paid_at_gateway({"stoneware-mug": 1})
    paid["customer_email"] = paid["customer_details"] = None

    deliver(_completed(paid))

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.confirmation_emailed_at is None
    assert mail.outbox == []


# -- a mail server that fails ----------------------------------------------------------


@override_settings(EMAIL_BACKEND=FLAKY_BACKEND)
def test_send_that_fails_once_is_retried_and_delivered(shop, deliver, shop_log, no_retry_delay):
    FlakyBackend.reset(failures=1)
    order, paid = order_paid_at_gateway({"stoneware-mug": 1})

    deliver(_completed(paid))

    assert FlakyBackend.attempts == 2
    assert len(mail.outbox) == 1
    assert f"order {order.reference} confirmation e-mail attempt 1/3 failed" in shop_log.text


@override_settings(EMAIL_BACKEND=FLAKY_BACKEND)
def test_failing_mail_server_is_retried_then_given_up_leaving_the_order_paid(
    shop, deliver, shop_log, no_retry_delay
):
    FlakyBackend.reset(failures=100)
    order, paid = order_paid_at_gateway({"stoneware-mug": 1})

    deliver(_completed(paid))

    order.refresh_from_db()
    assert FlakyBackend.attempts == tasks.SEND_ATTEMPTS
    assert mail.outbox == []
    assert order.status == Order.Status.PAID
    # The claim is given back so a later run can send it.
    assert order.confirmation_emailed_at is None
    errors = [r for r in shop_log.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        f"order {order.reference} confirmation e-mail not sent after 3 attempts"
    ]

    FlakyBackend.reset(failures=0)
    assert tasks.order_confirmation_send.enqueue(order.pk).return_value is True

    order.refresh_from_db()
    assert len(mail.outbox) == 1
    assert order.confirmation_emailed_at is not None


# -- configuration ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email_url", "expected"),
    [
        (None, "django.core.mail.backends.console.EmailBackend mail-timeout=10"),
        ("", "django.core.mail.backends.console.EmailBackend mail-timeout=10"),
        (
            "smtp+tls://shop:secret@mail.example.com:587",
            "django.core.mail.backends.smtp.EmailBackend mail.example.com:587 tls mail-timeout=10",
        ),
    ],
)
def test_console_email_by_default_and_smtp_from_email_url(email_url, expected):
    env = {k: v for k, v in os.environ.items() if k not in ("EMAIL_URL", "DATABASE_URL")}
    env["DJANGO_SETTINGS_MODULE"] = "site_config.settings.dev"
    if email_url is not None:
        env["EMAIL_URL"] = email_url
    script = (
        "from django.conf import settings as s\n"
        "parts = [s.EMAIL_BACKEND]\n"
        "if 'smtp' in s.EMAIL_BACKEND:\n"
        "    parts.append(f'{s.EMAIL_HOST}:{s.EMAIL_PORT}')\n"
        "    parts.append('tls' if s.EMAIL_USE_TLS else 'plain')\n"
        "parts.append(f'mail-timeout={s.EMAIL_TIMEOUT}')\n"
        "print(' '.join(parts))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.strip() == expected
