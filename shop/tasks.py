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
from shop.models import Dispute, Order, OrderEvent, Source
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
    return f"<order-{order.reference}.confirmation@{_sender_domain()}>"


def _sender_domain() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"


def _order_message(
    order: Order,
    *,
    subject: str,
    template: str,
    message_id: str | None = None,
    context: dict | None = None,
) -> EmailMultiAlternatives:
    """An e-mail to the order's customer from ``template`` (.txt and .html), with the store's
    name, support address, the order's lines and its signed link in its context."""
    store = _store_settings()
    context = {
        "order": order,
        "order_url": order_signed_url(order),
        "receipt_url": (
            order_signed_url(order, route="order_receipt") if order.has_receipt else ""
        ),
        "store_name": store.store_name,
        "support_email": store.support_email,
        "lines": list(order.lines.all()),
        **(context or {}),
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[order.customer_email],
        reply_to=[store.support_email] if store.support_email else None,
        headers={"Message-ID": message_id} if message_id else None,
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message


def _message_for(order: Order, *, message_id: str | None = None) -> EmailMultiAlternatives:
    """The confirmation; a resend passes its own Message-ID."""
    return _order_message(
        order,
        subject=f"Your order {order.reference} is confirmed",
        template="shop/email/order_confirmation",
        message_id=message_id or confirmation_message_id(order),
    )


def _send_with_retries(message: EmailMultiAlternatives, *, what: str) -> bool:
    """Send ``message``, up to SEND_ATTEMPTS times with a growing pause; whether it went."""
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            message.send()
        except Exception:
            logger.warning("%s attempt %d/%d failed", what, attempt, SEND_ATTEMPTS, exc_info=True)
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


def _enqueue(send, *args) -> None:
    """Queue ``send(*args)``; with the immediate backend, once the response has gone out."""

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
    if _send_with_retries(_message_for(order), what=f"order {order.reference} confirmation e-mail"):
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
    if not _send_with_retries(
        _shipped_message_for(order), what=f"order {order.reference} shipped e-mail"
    ):
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


# -- a confirmation an operator asked for again (shop/services/order_actions.py) ---------


def order_confirmation_resend_queue(order_id: int) -> None:
    """Queue the resend an operator asked for; called once its request has committed."""
    _enqueue(order_confirmation_resend, order_id)


@task()
def order_confirmation_resend(order_id: int) -> bool:
    """Send the confirmation again, once per operator request, beside the automatic one.

    The request (``confirmation_resend_requested_at``) is claimed by clearing it, so a task
    run twice sends once. A resend has its own Message-ID: mail clients drop a message whose
    id they have already seen. A send that fails every attempt puts the request back, so
    the operator sees it still outstanding and may ask again.
    """
    with transaction.atomic():
        order = (
            Order.objects.select_for_update()
            .filter(pk=order_id, confirmation_resend_requested_at__isnull=False)
            .exclude(customer_email="")
            .first()
        )
        if order is None:
            return False
        requested_at = order.confirmation_resend_requested_at
        order.confirmation_resend_requested_at = None
        order.save(update_fields=["confirmation_resend_requested_at", "updated_at"])
    stamp = requested_at.strftime("%Y%m%d%H%M%S%f")
    message_id = f"<order-{order.reference}.confirmation.{stamp}@{_sender_domain()}>"
    message = _message_for(order, message_id=message_id)
    if _send_with_retries(message, what=f"order {order.reference} confirmation resend"):
        with transaction.atomic():
            OrderEvent.objects.record(
                order,
                OrderEvent.Kind.EMAIL_SENT,
                Source.system(),
                message="Order confirmation (sent again)",
            )
        logger.info("order %s confirmation e-mailed again", order.reference)
        return True
    Order.objects.filter(pk=order_id, confirmation_resend_requested_at__isnull=True).update(
        confirmation_resend_requested_at=requested_at
    )
    logger.error(
        "order %s confirmation resend failed after %d attempts", order.reference, SEND_ATTEMPTS
    )
    return False


# -- telling the store about a dispute (shop/services/disputes.py) ------------------------


def dispute_notice_recipients() -> list[str]:
    """Who hears about a new dispute: the store's support address (Settings → Store
    settings); without one, the site's ADMINS; without those, DEFAULT_FROM_EMAIL."""
    support = _store_settings().support_email
    if support:
        return [support]
    admins = [address for _, address in getattr(settings, "ADMINS", ()) if address]
    return admins or [parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL]


def dispute_notice_queue(dispute_id: int) -> None:
    """Queue the one notice of a new dispute; called once its record has committed."""

    _enqueue(dispute_notice_send, dispute_id)


@task()
def dispute_notice_send(dispute_id: int) -> bool:
    """E-mail the store that a payment is disputed: once per dispute.

    Claimed with a conditional update, so the task run twice (or an event delivered twice)
    sends once; a send that fails every attempt gives the claim back and is logged.
    """
    from shop.services.disputes import dispute_summary

    now = timezone.now()
    if not Dispute.objects.filter(pk=dispute_id, notice_sent_at__isnull=True).update(
        notice_sent_at=now
    ):
        return False
    dispute = Dispute.objects.select_related("order").get(pk=dispute_id)
    store = _store_settings()
    order = dispute.order
    about = f"order {order.reference}" if order else f"payment {dispute.payment_id}"
    context = {
        "dispute": dispute,
        "order": order,
        "summary": dispute_summary(dispute),
        "store_name": store.store_name,
        "payment_id": dispute.payment_id,
    }
    message = EmailMultiAlternatives(
        subject=f"Dispute opened on {about}",
        body=render_to_string("shop/email/dispute_notice.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=dispute_notice_recipients(),
    )
    if _send_with_retries(message, what=f"dispute {dispute.provider_dispute_id} notice"):
        logger.info("dispute %s notice e-mailed", dispute.provider_dispute_id)
        return True
    Dispute.objects.filter(pk=dispute_id).update(notice_sent_at=None)
    logger.error(
        "dispute %s notice not sent after %d attempts", dispute.provider_dispute_id, SEND_ATTEMPTS
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
    _enqueue(refund_email_send, refund_id)


@task()
def refund_email_send(refund_id: int) -> bool:
    """Tell the shopper about one succeeded refund, once: claimed by a conditional update,
    given back when every attempt failed (reconciliation then queues it again)."""
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
    message = _order_message(
        order,
        subject=f"{refund.amount_display} refunded on your order {order.reference}",
        template="shop/email/refund",
        context={
            "refund": refund,
            "refund_lines": list(refund.lines.select_related("order_line")),
            "shopper_reason": SHOPPER_REFUND_REASONS.get(refund.reason, ""),
        },
    )
    if not _send_with_retries(message, what=f"order {order.reference} refund {refund_id} e-mail"):
        Refund.objects.filter(pk=refund_id).update(emailed_at=None)
        logger.error("order %s refund %s e-mail not sent", order.reference, refund_id)
        return False
    OrderEvent.objects.record(
        order,
        OrderEvent.Kind.EMAIL_SENT,
        Source.system(),
        message=f"Refund {refund.amount_display}",
    )
    logger.info("order %s refund %s e-mailed", order.reference, refund_id)
    return True
