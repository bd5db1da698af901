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


def _shopper_message(
    order: Order, *, subject: str, template: str, context: dict, headers: dict | None = None
) -> EmailMultiAlternatives:
    """An e-mail to the order's shopper from ``template`` (.txt and .html), with the store's
    name, support address and the order's signed link in its context."""
    store = _store_settings()
    context = {
        "order": order,
        "order_url": order_signed_url(order),
        "store_name": store.store_name,
        "support_email": store.support_email,
        **context,
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[order.customer_email],
        reply_to=[store.support_email] if store.support_email else None,
        headers=headers,
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message


def _message_for(order: Order) -> EmailMultiAlternatives:
    return _shopper_message(
        order,
        subject=f"Your order {order.reference} is confirmed",
        template="shop/email/order_confirmation",
        context={"lines": list(order.lines.all())},
        headers={"Message-ID": confirmation_message_id(order)},
    )


def order_confirmation_queue(order_id: int) -> None:
    """Queue the paid order's confirmation; fulfilment calls this once its change committed.

    With a queue (``TASKS_BACKEND=database``) this only writes the task. With the immediate
    backend queueing is sending, so inside a request the send waits until the response has
    gone out: a mail server that hangs never holds up a webhook's answer or a page.
    """

    _enqueue_after_response(order_confirmation_send, order_id)


def _enqueue_after_response(send, *args) -> None:
    """Queue ``send``; with the immediate backend, only once the response has gone out."""

    def enqueue() -> None:
        send.enqueue(*args)

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
                status__in=Order.PAID_STATUSES,
            )
            .exclude(customer_email="")
            .update(confirmation_claimed_until=now + claim_lease())
        )
    if not claimed:
        return False
    order = Order.objects.prefetch_related("lines").get(pk=order_id)
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            _message_for(order).send()
        except Exception:
            logger.warning(
                "order %s confirmation e-mail attempt %d/%d failed",
                order.reference,
                attempt,
                SEND_ATTEMPTS,
                exc_info=True,
            )
            if attempt < SEND_ATTEMPTS:
                time.sleep(RETRY_DELAY_SECONDS * attempt)
            continue
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


# -- refund e-mails: one per refund that succeeded ---------------------------------------

# What the shopper is told about why; a suspected fraud is not said to them.
SHOPPER_REFUND_REASONS = {
    "requested_by_customer": "as you asked",
    "duplicate": "a duplicate payment",
}


def refund_email_queue(refund_id: int) -> None:
    """Queue the shopper's e-mail for a refund that succeeded (called once it committed)."""
    _enqueue_after_response(refund_email_send, refund_id)


@task()
def refund_email_send(refund_id: int) -> bool:
    """Tell the shopper about one succeeded refund, once: claimed by a conditional update,
    given back when every attempt failed (reconciliation does not resend it)."""
    from shop.models import Refund

    with transaction.atomic():
        claimed = (
            Refund.objects.filter(
                pk=refund_id, status=Refund.Status.SUCCEEDED, emailed_at__isnull=True
            )
            .exclude(order__customer_email="")
            .exclude(order__isnull=True)
            .update(emailed_at=timezone.now())
        )
    if not claimed:
        return False
    refund = Refund.objects.select_related("order").get(pk=refund_id)
    order = refund.order
    message = _shopper_message(
        order,
        subject=f"{refund.amount_display} refunded on your order {order.reference}",
        template="shop/email/refund",
        context={
            "refund": refund,
            "refund_lines": list(refund.lines.select_related("order_line")),
            "shopper_reason": SHOPPER_REFUND_REASONS.get(refund.reason, ""),
        },
    )
    try:
        message.send()
    except Exception:
        Refund.objects.filter(pk=refund_id).update(emailed_at=None)
        logger.exception("order %s refund %s e-mail not sent", order.reference, refund_id)
        return False
    OrderEvent.objects.record(
        order,
        OrderEvent.Kind.EMAIL_SENT,
        Source.system(),
        message=f"Refund {refund.amount_display}",
    )
    logger.info("order %s refund %s e-mailed", order.reference, refund_id)
    return True
