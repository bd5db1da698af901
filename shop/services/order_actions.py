"""What an operator does to an order from the admin: cancel an unpaid one, send its
confirmation again, keep an internal note.

Each action is refused with an :class:`OrderActionRefused` (a message for the operator) and
then changes nothing; each change is on the order's timeline with the operator as its
source. Permissions are the views' job (shop/admin/order_actions.py).
"""

from __future__ import annotations

import datetime as dt
import enum
import logging

from django.db import transaction
from django.utils import formats, timezone

from shop.models import Order, OrderEvent, Source
from shop.payments import get_gateway
from shop.payments.base import PaymentError, SessionNotFound
from shop.services import fulfilment
from shop.tasks import order_confirmation_queue, order_confirmation_resend_queue

logger = logging.getLogger(__name__)

# A second resend asked for within this time of the last one is refused: a double submit,
# or two operators answering the same customer.
RESEND_WINDOW = dt.timedelta(minutes=5)
NOTE_MAX_LENGTH = OrderEvent.MESSAGE_MAX_LENGTH


class OrderActionRefused(Exception):
    """The action cannot be done on this order; ``message`` says why, for the operator."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class CancelOutcome(enum.Enum):
    CANCELED = "canceled"
    PAID_MEANWHILE = "paid meanwhile"  # the shopper paid just before: fulfilled instead


def _status_words(order: Order) -> str:
    return order.status_label.lower()


def order_cancel_unpaid(*, order: Order, user) -> CancelOutcome:
    """Cancel a pending order: expire its session at the gateway, then pending → canceled.

    The gateway is asked first, outside any transaction; the session as it stands decides.
    Paid a moment ago: the order is fulfilled instead (``PAID_MEANWHILE``). A gateway that
    cannot be reached refuses the cancel (the shopper could still pay); a session the
    gateway does not know can no longer be paid, so the order is canceled. Releasing held
    stock comes with the move (``_move``). A payment arriving later still makes it paid.
    """
    order.refresh_from_db()
    if order.status != Order.Status.PENDING:
        raise OrderActionRefused(
            f"Order {order.reference} is {_status_words(order)}: only a pending, unpaid "
            "order can be canceled."
        )
    source = Source.admin_user(user)
    if order.payment_session_id:
        try:
            session = get_gateway().expire_session(order.payment_session_id)
        except SessionNotFound:
            logger.info("order %s: the gateway has no session to expire", order.reference)
        except PaymentError as exc:
            logger.warning("order %s not canceled: %s", order.reference, exc)
            raise OrderActionRefused(
                f"Order {order.reference} was not canceled: the payment provider could not "
                "close its checkout, so the customer could still pay. Nothing was changed; "
                "try again in a minute."
            ) from None
        else:
            if session.is_paid:
                fulfilment.order_fulfil(session=session, source=source)
                return CancelOutcome.PAID_MEANWHILE
    locked = fulfilment.order_cancel(order=order, source=source)
    if locked.status == Order.Status.CANCELED:
        return CancelOutcome.CANCELED
    if locked.status == Order.Status.PAID:
        return CancelOutcome.PAID_MEANWHILE
    raise OrderActionRefused(
        f"Order {order.reference} is {_status_words(locked)} now: it was not canceled."
    )


def order_confirmation_resend_request(*, order: Order, user) -> None:
    """Send a paid order's confirmation e-mail again, once, on the timeline with who asked.

    Refused for an order that is not paid, has no e-mail address, or had a resend asked for
    less than :data:`RESEND_WINDOW` ago. When the automatic confirmation has not gone out
    yet, this queues that one (its claim keeps it to one e-mail) rather than a second copy.
    """
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status != Order.Status.PAID:
            raise OrderActionRefused(
                f"Order {locked.reference} is {_status_words(locked)}: only a paid order's "
                "confirmation can be sent again."
            )
        if not locked.customer_email:
            raise OrderActionRefused(f"Order {locked.reference} has no e-mail address to send to.")
        last = (
            locked.timeline.filter(kind=OrderEvent.Kind.EMAIL_RESEND_REQUESTED)
            .order_by("-created_at")
            .first()
        )
        now = timezone.now()
        if last is not None and now - last.created_at < RESEND_WINDOW:
            when = formats.date_format(timezone.localtime(last.created_at), "TIME_FORMAT")
            raise OrderActionRefused(
                f"The confirmation of order {locked.reference} was already asked for at "
                f"{when}; it is sent once. Wait a few minutes to send it again."
            )
        OrderEvent.objects.record(
            locked,
            OrderEvent.Kind.EMAIL_RESEND_REQUESTED,
            Source.admin_user(user),
            message=f"Order confirmation to {locked.customer_email}",
        )
        order_id = locked.pk
        if locked.confirmation_emailed_at is None:
            transaction.on_commit(lambda: order_confirmation_queue(order_id))
        else:
            locked.confirmation_resend_requested_at = now
            locked.save(update_fields=["confirmation_resend_requested_at", "updated_at"])
            transaction.on_commit(lambda: order_confirmation_resend_queue(order_id))
    logger.info("order %s confirmation resend asked for by %s", order.reference, user)


def order_note_add(*, order: Order, user, text: str) -> OrderEvent:
    """An internal note on the order's timeline, with its author. Never shown to the shopper.

    Refused when blank or longer than :data:`NOTE_MAX_LENGTH` characters.
    """
    text = (text or "").strip()
    if not text:
        raise OrderActionRefused("Write something in the note: an empty note is not saved.")
    if len(text) > NOTE_MAX_LENGTH:
        raise OrderActionRefused(
            f"A note holds at most {NOTE_MAX_LENGTH} characters; this one has {len(text)}."
        )
    if "\x00" in text:
        raise OrderActionRefused("The note contains a character that cannot be stored.")
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        return OrderEvent.objects.record(
            locked, OrderEvent.Kind.NOTE, Source.admin_user(user), message=text
        )
