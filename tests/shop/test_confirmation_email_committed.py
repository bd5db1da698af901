"""One confirmation e-mail per paid order where transactions really commit: twenty senders at
once, the database task queue, and a mail server that hangs behind a live server.

Apart from test_confirmation_email.py, whose tests share one shop built inside a
module-wide transaction: these commit for real, so each builds its own shop.
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import override_settings

from shop import tasks
from shop.models import Order, Source
from shop.payments.local import LocalGateway
from shop.payments.stripe_json import event_from_payload
from shop.services.fulfilment import order_fulfil
from shop.services.webhooks import WebhookOutcome, payment_event_apply
from tests.support.events import event as provider_event
from tests.support.events import signature_for
from tests.support.orders import order_paid_at_gateway
from tests.support.shop import shop_build
from tests.support.smtp_fake import SMTPServer
from tests.support.threads import together

# -- two servers at once ---------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_concurrent_fulfilments_send_exactly_one_email():
    shop_build()
    order, paid = order_paid_at_gateway({"stoneware-mug": 1, "canvas-tote": 1})
    session = LocalGateway().retrieve_session(paid["id"])
    assert session.is_paid

    together(20, lambda i: order_fulfil(session=session, source=Source.provider_event(f"evt_{i}")))

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.confirmation_emailed_at is not None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.com"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_concurrent_confirmation_tasks_send_exactly_one_email():
    # The claim alone, as when a queue delivers the task to several workers at once.
    shop_build()
    order, paid = order_paid_at_gateway({"stoneware-mug": 1})
    order_fulfil(session=LocalGateway().retrieve_session(paid["id"]), source=Source.system())
    mail.outbox.clear()
    Order.objects.filter(pk=order.pk).update(confirmation_emailed_at=None)

    together(20, lambda i: tasks.order_confirmation_send.enqueue(order.pk))

    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})
def test_with_the_database_queue_the_webhook_answers_before_the_email_is_sent():
    """TASKS_BACKEND=database: the e-mail waits for `manage.py db_worker`, not the webhook.

    Transactional: the worker closes and reopens database connections, as it does in
    production, which a test wrapped in one transaction would not survive.
    """
    shop_build()
    order, paid = order_paid_at_gateway({"stoneware-mug": 1})
    event = {"id": "evt_queued", "type": "checkout.session.completed", "data": {"object": paid}}

    assert payment_event_apply(event_from_payload(event)) is WebhookOutcome.APPLIED
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert mail.outbox == []

    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)

    assert [message.subject for message in mail.outbox] == [
        f"Your order {order.reference} is confirmed"
    ]


# -- a mail server that hangs ----------------------------------------------------------

HUNG_MAIL_TIMEOUT = 6


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_webhook_answers_at_once_while_the_mail_server_hangs_and_the_email_follows(live_server):
    """The immediate task backend: the send waits for the webhook's answer to go out.

    A real server (Django's live server thread) and a real SMTP server on 127.0.0.1 whose
    first connection is accepted and never answered.
    """
    shop_build()
    order, paid = order_paid_at_gateway({"stoneware-mug": 1})
    body = json.dumps(provider_event("checkout.session.completed", paid)).encode()
    webhook = urllib.request.Request(
        f"{live_server.url}/stripe/webhook/",
        data=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": signature_for(body)},
    )

    with (
        SMTPServer(hang_first=1) as smtp,
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=smtp.port,
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
            EMAIL_TIMEOUT=HUNG_MAIL_TIMEOUT,
        ),
    ):
        started = time.monotonic()
        with urllib.request.urlopen(webhook, timeout=60) as response:
            status, answered_after = response.status, time.monotonic() - started
        sent_before_the_answer = list(smtp.messages)
        delivered = smtp.wait_for_messages(1, timeout=60)

    assert status == 200
    assert answered_after < HUNG_MAIL_TIMEOUT - 1
    assert sent_before_the_answer == []
    # The hung attempt timed out and the retry, on a fresh connection, delivered it.
    assert smtp.connections == 2
    assert [m["Subject"] for m in delivered] == [f"Your order {order.reference} is confirmed"]
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.confirmation_emailed_at is not None
