"""Background work, through Django's task framework (django-tasks).

The immediate backend runs a task in-process (inside a request: once the response has gone
out); the database queue, production's default, hands it to ``manage.py db_worker``.
Callers do not change.
"""

import datetime as dt
import logging
import time
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task
from django_tasks.backends.immediate import ImmediateBackend
from wagtail.models import Site

from home.models import StoreSettings
from shop.models import Order, OrderEvent, Source
from shop.order_links import order_signed_url
from site_config.after_response import run_after_response

logger = logging.getLogger(__name__)

SEND_ATTEMPTS = 3
RETRY_DELAY_SECONDS = 0.5
# How long a sender holds an order's confirmation at least; see claim_lease().
CLAIM_LEASE = dt.timedelta(minutes=10)


def claim_lease() -> dt.timedelta:
    """Longer than the slowest send (every attempt stalled for EMAIL_TIMEOUT, plus the
    retry delays), so only a sender that died lets its claim lapse."""
    slowest = SEND_ATTEMPTS * ((settings.EMAIL_TIMEOUT or 60) + RETRY_DELAY_SECONDS * 3)
    return max(CLAIM_LEASE, dt.timedelta(seconds=2 * slowest))


def _store_settings() -> StoreSettings:
    site = Site.objects.filter(is_default_site=True).first()
    return StoreSettings.for_site(site) if site else StoreSettings()


def confirmation_message_id(order: Order) -> str:
    """The confirmation's Message-ID: the same for every send of one order's e-mail.

    A resend after a crashed send then reads as the same message to mail clients.
    """
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<order-{order.reference}.confirmation@{domain}>"


def _order_message(
    order: Order, *, subject: str, template: str, message_id: str
) -> EmailMultiAlternatives:
    """An e-mail to the order's customer from ``template`` (.txt, and .html beside it)."""
    store = _store_settings()
    context = {
        "order": order,
        "lines": list(order.lines.all()),
        "order_url": order_signed_url(order),
        "store_name": store.store_name,
        "support_email": store.support_email,
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[order.customer_email],
        reply_to=[store.support_email] if store.support_email else None,
        headers={"Message-ID": message_id},
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message


def _message_for(order: Order) -> EmailMultiAlternatives:
    return _order_message(
        order,
        subject=f"Your order {order.reference} is confirmed",
        template="shop/email/order_confirmation",
        message_id=confirmation_message_id(order),
    )


def _send_with_retries(message: EmailMultiAlternatives, *, order: Order, what: str) -> bool:
    """Hand ``message`` to the mail server, up to SEND_ATTEMPTS times; True once it took it."""
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            message.send()
        except Exception:
            logger.warning(
                "order %s %s e-mail attempt %d/%d failed",
                order.reference,
                what,
                attempt,
                SEND_ATTEMPTS,
                exc_info=True,
            )
            if attempt < SEND_ATTEMPTS:
                time.sleep(RETRY_DELAY_SECONDS * attempt)
            continue
        return True
    return False


def order_confirmation_queue(order_id: int) -> None:
    """Queue the paid order's confirmation; fulfilment calls this once its change committed.

    With a queue (``TASKS_BACKEND=database``) this only writes the task. With the immediate
    backend queueing is sending, so inside a request the send waits until the response has
    gone out: a mail server that hangs never holds up a webhook's answer or a page.
    """

    _enqueue(order_confirmation_send, order_id)


def _enqueue(send, order_id: int) -> None:
    """Queue ``send(order_id)``; with the immediate backend, once the response has gone out."""

    def enqueue() -> None:
        send.enqueue(order_id)

    if isinstance(send.get_backend(), ImmediateBackend):
        run_after_response(enqueue)
    else:
        enqueue()


def _claim_q(now: dt.datetime) -> Q:
    """Not sent, and nobody holds a live claim on it."""
    return Q(confirmation_emailed_at__isnull=True) & (
        Q(confirmation_claimed_until__isnull=True) | Q(confirmation_claimed_until__lte=now)
    )


@task()
def order_confirmation_send(order_id: int) -> bool:
    """Send the paid order's confirmation e-mail; one send per order unless a sender died.

    A sender claims the e-mail for :func:`claim_lease` with a conditional update, so a task run
    twice (or by two workers) sends once. ``confirmation_emailed_at`` is set only after the
    mail server took the message. A failed send gives the claim back and is retried; a
    sender killed mid-send leaves a claim that lapses, and reconciliation sends it again
    (with the same Message-ID). It never touches the order's status.
    """
    now = timezone.now()
    with transaction.atomic():
        claimed = (
            Order.objects.filter(
                _claim_q(now),
                pk=order_id,
                status__in=[Order.Status.PAID, Order.Status.REFUNDED],
            )
            .exclude(customer_email="")
            .update(confirmation_claimed_until=now + claim_lease())
        )
    if not claimed:
        return False
    order = Order.objects.prefetch_related("lines").get(pk=order_id)
    if _send_with_retries(_message_for(order), order=order, what="confirmation"):
        with transaction.atomic():
            Order.objects.filter(pk=order_id).update(
                confirmation_emailed_at=timezone.now(), confirmation_claimed_until=None
            )
            OrderEvent.objects.record(
                order, OrderEvent.Kind.EMAIL_SENT, Source.system(), message="Order confirmation"
            )
        logger.info("order %s confirmation e-mailed", order.reference)
        return True
    # Give the claim back so a later run (reconciliation, a queue retry) can try again.
    Order.objects.filter(pk=order_id).update(confirmation_claimed_until=None)
    logger.error(
        "order %s confirmation e-mail not sent after %d attempts", order.reference, SEND_ATTEMPTS
    )
    return False


# -- the shipped e-mail: one per shipment, claimed and recorded like the confirmation -------


def shipped_message_id(order: Order) -> str:
    """The shipped e-mail's Message-ID: the same for every send of one order's shipment."""
    return confirmation_message_id(order).replace(".confirmation@", ".shipped@")


def _shipped_message_for(order: Order) -> EmailMultiAlternatives:
    return _order_message(
        order,
        subject=f"Your order {order.reference} has shipped",
        template="shop/email/order_shipped",
        message_id=shipped_message_id(order),
    )


def order_shipped_email_queue(order_id: int) -> None:
    """Queue the shipped e-mail; ``order_ship`` calls this once the shipment committed."""
    _enqueue(order_shipped_email_send, order_id)


def shipped_email_due_q(now: dt.datetime) -> Q:
    """Shipped, not e-mailed, and nobody holds a live claim on the e-mail."""
    return (
        Q(fulfilment_status__in=[Order.FulfilmentStatus.SHIPPED, Order.FulfilmentStatus.DELIVERED])
        & Q(shipped_emailed_at__isnull=True)
        & (Q(shipped_email_claimed_until__isnull=True) | Q(shipped_email_claimed_until__lte=now))
    )


@task()
def order_shipped_email_send(order_id: int) -> bool:
    """Tell the shopper their order shipped, with the carrier and tracking link: one send per
    shipment unless a sender died (then reconciliation sends it again, same Message-ID).

    Claimed with a conditional update for :func:`claim_lease`, so the task run twice, or for
    two operators' clicks, sends once; ``shipped_emailed_at`` is set once the mail server took
    it, with its ``email_sent`` entry on the timeline.
    """
    now = timezone.now()
    with transaction.atomic():
        claimed = (
            Order.objects.filter(shipped_email_due_q(now), pk=order_id)
            .exclude(customer_email="")
            .update(shipped_email_claimed_until=now + claim_lease())
        )
    if not claimed:
        return False
    order = Order.objects.prefetch_related("lines").get(pk=order_id)
    if not _send_with_retries(_shipped_message_for(order), order=order, what="shipped"):
        Order.objects.filter(pk=order_id).update(shipped_email_claimed_until=None)
        logger.error("order %s shipped e-mail not sent", order.reference)
        return False
    with transaction.atomic():
        Order.objects.filter(pk=order_id).update(
            shipped_emailed_at=timezone.now(), shipped_email_claimed_until=None
        )
        OrderEvent.objects.record(
            order, OrderEvent.Kind.EMAIL_SENT, Source.system(), message="Order shipped"
        )
    logger.info("order %s shipped e-mail sent", order.reference)
    return True
