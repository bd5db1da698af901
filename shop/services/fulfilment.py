"""Settling orders from what the payment provider reports.

Every path that learns about a payment — the webhook, the success page, reconciliation —
calls these services, saying where it came from with a :class:`Source`. Each locks the
order row, moves it along ``Order.ALLOWED_TRANSITIONS`` at most once, and is a no-op when
called again. Every change writes its ``OrderEvent`` in the same transaction; a refused
or repeated move writes nothing.
"""

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from shop import promotions, shipping, stock
from shop.models import Order, OrderEvent, OrderLine, Product, Source
from shop.payments.base import CheckoutSession
from shop.services.disputes import disputes_attach, disputes_waiting
from shop.services.invoices import invoice_events_waiting, invoices_attach
from shop.shop_state import shop_state_changed
from shop.tasks import order_confirmation_queue

logger = logging.getLogger(__name__)


def _lock_order_for_session(session: CheckoutSession, **annotations) -> Order | None:
    """The order a session belongs to, locked; found by session id or by our reference.

    The reference covers a session whose id we never stored (the process died between
    the provider creating it and our update): the payment must not be lost.
    ``annotations`` are read in the same statement (see :func:`_paying_checks`).
    """
    locked = Order.objects.select_for_update().annotate(**annotations)
    order = locked.filter(payment_session_id=session.id).first()
    if order is None and session.client_reference_id:
        order = locked.filter(
            reference=session.client_reference_id, payment_session_id__isnull=True
        ).first()
        if order is not None:
            order.payment_session_id = session.id
            order.save(update_fields=["payment_session_id", "updated_at"])
    return order


def _move(
    order: Order,
    new_status: str,
    *,
    source: Source,
    kind: str = OrderEvent.Kind.STATUS_CHANGED,
    message: str = "",
    fields=(),
) -> bool:
    """Apply one transition to a locked order and write it on the order's timeline.

    The only code that changes ``Order.status``; the caller holds the row lock inside the
    transaction, so the change and its entry commit or roll back together. False (and no
    change, no entry) if the move is refused or the order is already there.
    """
    if order.status == new_status or not order.can_transition_to(new_status):
        logger.info(
            "order %s stays %s (%s ignored) source=%s",
            order.reference,
            order.status,
            new_status,
            source,
        )
        return False
    old = order.transition_to(new_status)
    entries = [
        OrderEvent.objects.entry(
            order, kind, source, message=message, old_status=old, new_status=new_status
        )
    ]
    changed = ["status", "paid_at", "updated_at", *fields]
    if new_status == Order.Status.PAID:
        # Before the order's one UPDATE, which then carries the oversold flag too.
        entries += _stock_sell(order, source=source)
        if order.oversold:
            changed.append("oversold")
    order.save(update_fields=changed)
    logger.info("order %s status %s -> %s source=%s", order.reference, old, new_status, source)
    if new_status in RELEASED_BY:
        entries += _stock_release(order, source=source)
    OrderEvent.objects.record_all(entries)
    return True


# An order in one of these statuses can no longer be paid through its session: its held
# units go back on sale (a payment arriving later still makes it paid: see _stock_sell).
RELEASED_BY = frozenset({Order.Status.EXPIRED, Order.Status.CANCELED, Order.Status.FAILED})


def _stock_release(
    order: Order, *, source: Source, now: dt.datetime | None = None
) -> list[OrderEvent]:
    """On a locked order: give back the units still held for it, once; returns the timeline
    entry saying so, for the caller to write with its own."""
    now = now or timezone.now()
    lines = list(
        order.lines.filter(held_quantity__gt=0, hold_released_at__isnull=True, sold_at__isnull=True)
    )
    if not lines:
        return []
    OrderLine.objects.filter(pk__in=[line.pk for line in lines]).update(hold_released_at=now)
    shop_state_changed()  # the units are back on sale: the cards say so
    message = f"Released: {stock.units_text(lines)}"
    logger.info("order %s stock released (%s) source=%s", order.reference, message, source)
    return [
        OrderEvent.objects.entry(order, OrderEvent.Kind.STOCK_RELEASED, source, message=message)
    ]


def _stock_sell(order: Order, *, source: Source) -> list[OrderEvent]:
    """On a locked order being paid: its held units become sold, once; returns the timeline
    entries saying so, for the caller to write with the payment's.

    A line whose hold had been given back (released, or lapsed with its session) is sold
    all the same — the money is taken — and so is one whose product an editor lowered
    under what is sold. The order is then flagged ``oversold`` (in memory: the caller saves
    it) when the stock cannot cover it: its units were no longer held and are now more than
    what is left, or the units sold are more than the stock.
    """
    if not _waiting(order, UNSOLD_UNITS):
        return []  # the order's lock said it has none: no need to look
    now = timezone.now()
    lines = list(order.lines.filter(held_quantity__gt=0, sold_at__isnull=True))
    if not lines:
        return []
    product_ids = sorted({line.product_id for line in lines if line.product_id is not None})
    # Serialises with checkouts holding these products, so the levels read below are exact;
    # the stock is read by the same statement, under the lock.
    stock_of = dict(
        Product.objects.select_for_update()
        .filter(pk__in=product_ids)
        .order_by("pk")
        .values_list("pk", "stock")
    )
    lapsed = {line.product_id for line in lines if not _held_at(line, now)}
    OrderLine.objects.filter(pk__in=[line.pk for line in lines]).update(sold_at=now)
    if lapsed:
        shop_state_changed()  # units no longer held are now sold: fewer left on the cards
    entries = [
        OrderEvent.objects.entry(
            order, OrderEvent.Kind.STOCK_SOLD, source, message=f"Sold: {stock.units_text(lines)}"
        )
    ]
    levels = stock.stock_levels_of(stock_of, now=now)
    short = [
        line
        for line in lines
        if (level := levels.get(line.product_id)) is not None
        and level.tracked
        and (level.sold > level.stock or (line.product_id in lapsed and level.available < 0))
    ]
    logger.info("order %s stock sold source=%s", order.reference, source)
    if short:
        order.oversold = True
        message = f"Paid for more than the stock covers: {stock.units_text(short)}"
        entries.append(
            OrderEvent.objects.entry(order, OrderEvent.Kind.OVERSOLD, source, message=message)
        )
        logger.warning("order %s oversold (%s) source=%s", order.reference, message, source)
    return entries


def _held_at(line: OrderLine, now: dt.datetime) -> bool:
    return line.hold_released_at is None and line.held_until is not None and line.held_until > now


def stock_holds_release_lapsed(*, source: Source, now: dt.datetime | None = None) -> list[str]:
    """Give back, on each order's timeline, the holds whose time ran out without anything
    settling their order (no session ever opened, a session the gateway kept open).

    They already count as available (``held_until`` has passed); this says so on the
    timeline. Returns the references of the orders released.
    """
    now = now or timezone.now()
    due = (
        OrderLine.objects.filter(
            held_quantity__gt=0,
            hold_released_at__isnull=True,
            sold_at__isnull=True,
            held_until__lte=now,
            order__status=Order.Status.PENDING,
        )
        .order_by("order_id")
        .values_list("order_id", flat=True)
        .distinct()
    )
    released = []
    for order_id in list(due):
        with transaction.atomic():
            order = (
                Order.objects.select_for_update(skip_locked=True)
                .filter(pk=order_id, status=Order.Status.PENDING)
                .first()
            )
            if order is None:
                continue
            lapsed = order.lines.filter(held_until__lte=now)
            if lapsed.filter(hold_released_at__isnull=True, sold_at__isnull=True).exists():
                OrderEvent.objects.record_all(_stock_release(order, source=source, now=now))
                released.append(order.reference)
    return released


def order_fulfil(*, session: CheckoutSession, source: Source) -> Order | None:
    """Mark the session's order paid if the provider says it is paid and the money matches.

    Returns the order (None if the session is not ours). Idempotent: the first call moves
    pending → paid and queues one confirmation e-mail after commit; later calls do nothing.
    """
    # No savepoint: inside the webhook's transaction a failure rolls back the whole event.
    with transaction.atomic(savepoint=False):
        order = _lock_order_for_session(
            session, **(_paying_checks(session) if session.is_paid else {})
        )
        if order is None:
            logger.warning(
                "checkout session %s is not one of our orders source=%s", session.id, source
            )
            return None
        if not session.is_paid:
            if order.status == Order.Status.PENDING and order.awaiting_confirmation_since is None:
                order_mark_returned(order=order, source=source)
            return order
        checked = shipping.amounts_check(order, session)
        if checked.problem:
            _flag_amounts_mismatch(order, problem=checked.problem, source=source)
            return order
        if session.payment_id:
            order.payment_id = session.payment_id
        if session.customer_email and not order.customer_email:
            order.customer_email = session.customer_email
        if session.invoice_id and len(session.invoice_id) <= 255:
            order.invoice_id = session.invoice_id
        shipped = _shipping_record(order, checked) if checked.option else ()
        taxed = _tax_record(order, checked)
        # One entry, not two: receiving the money is what makes the order paid.
        received = f"{order.total_display} received, payment {order.payment_id or 'unknown'}"
        if _move(
            order,
            Order.Status.PAID,
            source=source,
            kind=OrderEvent.Kind.PAYMENT_RECEIVED,
            message=received,
            fields=("payment_id", "customer_email", "invoice_id", *shipped, *taxed),
        ):
            order_id = order.pk
            transaction.on_commit(lambda: order_confirmation_queue(order_id))
            # What came before the payment, each looked for only when the lock saw some.
            if _waiting(order, "refunds_waiting") or _waiting(order, "refund_events_waiting"):
                _apply_early_refund(order, source=source)
            if _waiting(order, "disputes_waiting"):
                disputes_attach(order)
            if _waiting(order, "invoices_waiting"):
                invoices_attach(order, source=source)
        return order


# The order's lock reads whether any of its held units are still unsold (they only ever go
# from unsold to sold, so "none" read at the lock stays true while it is held).
UNSOLD_UNITS = "has_unsold_units"


def _paying_checks(session: CheckoutSession) -> dict:
    """What paying the session's order needs to know, asked by the statement that locks it:
    whether the order holds unsold units, and whether refunds, disputes or invoice events
    that arrived before the payment wait for the payment id and invoice it is paid with.

    A session without a payment id or an invoice asks nothing about them: the attaching
    then looks for itself (see :func:`_waiting`).
    """
    from shop.services.refunds import refund_events_waiting, refunds_waiting

    checks = {
        UNSOLD_UNITS: Exists(
            OrderLine.objects.filter(
                order=OuterRef("pk"), held_quantity__gt=0, sold_at__isnull=True
            )
        )
    }
    if session.payment_id:
        checks["refunds_waiting"] = Exists(refunds_waiting(session.payment_id))
        checks["refund_events_waiting"] = Exists(refund_events_waiting(session.payment_id))
        checks["disputes_waiting"] = Exists(disputes_waiting(session.payment_id))
    if session.invoice_id and len(session.invoice_id) <= 255:
        checks["invoices_waiting"] = Exists(invoice_events_waiting(session.invoice_id))
    return checks


def _waiting(order: Order, check: str) -> bool:
    """What the order's lock said of ``check``; True (go and look) when it did not ask."""
    return getattr(order, check, True)


def _flag_amounts_mismatch(order: Order, *, problem: str, source: Source) -> None:
    """On a locked order: the provider says paid but the amounts are not ours. Not paid;
    flagged once for the operator, with what differed on the timeline."""
    logger.error(
        "order %s NOT marked paid: amounts do not match (%s) source=%s",
        order.reference,
        problem,
        source,
    )
    if order.amounts_mismatch or order.status in Order.PAID_STATUSES:
        return
    order.amounts_mismatch = True
    order.save(update_fields=["amounts_mismatch", "updated_at"])
    OrderEvent.objects.record(
        order, OrderEvent.Kind.AMOUNTS_MISMATCH, source, message=f"Not marked paid: {problem}"
    )


def _shipping_record(order: Order, checked: "shipping.AmountsChecked") -> tuple[str, ...]:
    """On a locked order about to be paid: the amounts and where and how it ships."""
    option, address = checked.option, checked.address
    order.amount_shipping = option.amount
    if checked.discount != order.amount_discount:
        # The provider rounded a percentage the other way: its figure is what was charged.
        _discount_record(order, checked.discount)
    order.amount_total = order.amount_subtotal - order.amount_discount + option.amount
    order.shipping_name = address.name[:200]
    order.shipping_phone = address.phone[:40]
    order.shipping_line1 = address.line1[:200]
    order.shipping_line2 = address.line2[:200]
    order.shipping_city = address.city[:120]
    order.shipping_postal_code = address.postal_code[:20]
    order.shipping_region = address.region[:120]
    order.shipping_country = address.country[:2]
    order.shipping_rate_name = option.name[:80]
    order.shipping_min_days = option.min_days
    order.shipping_max_days = option.max_days
    return SHIPPING_FIELDS


def _discount_record(order: Order, discount: int) -> None:
    lines = list(order.lines.all())
    shares = promotions.shares_split([line.line_total for line in lines], discount)
    for line, share in zip(lines, shares, strict=True):
        line.amount_discount = share
    OrderLine.objects.bulk_update(lines, ["amount_discount"])
    order.amount_discount = discount


def _tax_record(order: Order, checked: "shipping.AmountsChecked") -> tuple[str, ...]:
    """On a locked order about to be paid: the tax the session reported, and the total
    with it when it was added on top (exclusive)."""
    if not order.tax_behavior and not checked.tax:
        return ()
    order.amount_tax = checked.tax
    if order.tax_behavior == "exclusive":
        order.amount_total = (
            order.amount_subtotal - order.amount_discount + order.amount_shipping + checked.tax
        )
    return ("amount_tax", "amount_total")


SHIPPING_FIELDS = (
    "amount_discount",
    "amount_shipping",
    "amount_total",
    "shipping_name",
    "shipping_phone",
    "shipping_line1",
    "shipping_line2",
    "shipping_city",
    "shipping_postal_code",
    "shipping_region",
    "shipping_country",
    "shipping_rate_name",
    "shipping_min_days",
    "shipping_max_days",
)


def _apply_early_refund(order: Order, *, source: Source) -> None:
    """Refunds whose events arrived before the payment's are applied once it is paid.

    Events come in any order; the refund was recorded (a Refund made at the provider, or
    a PaymentEvent's cumulative refunded amount) with no paid order to act on, and the
    books must still end refunded, in full or in part.
    """
    from shop.services.refunds import refunds_attach

    refunds_attach(order, source=source)


ASYNC_FAILURE_REASON = "Your payment could not be completed. You have not been charged."


def _record_decline(order: Order, *, reason: str, source: Source, on_timeline: bool = True) -> None:
    """On a locked order: a payment attempt was declined. A paid order keeps its payment.

    ``on_timeline=False`` when the caller's status change already wrote the decline's entry.
    """
    if order.status in Order.PAID_STATUSES:
        logger.info(
            "order %s stays %s (decline ignored) source=%s", order.reference, order.status, source
        )
        return
    order.payment_declined_at = timezone.now()
    order.decline_reason = reason[:255]
    order.save(update_fields=["payment_declined_at", "decline_reason", "updated_at"])
    if on_timeline:
        OrderEvent.objects.record(
            order, OrderEvent.Kind.PAYMENT_DECLINED, source, message=order.decline_reason
        )
    logger.info("order %s payment declined source=%s", order.reference, source)


def order_fail(*, session: CheckoutSession, source: Source) -> Order | None:
    """An asynchronous payment failed: pending → failed, recorded as declined (never
    overwrites paid). A failed order is left as it is: the failure is already recorded."""
    with transaction.atomic(savepoint=False):
        order = _lock_order_for_session(session)
        if order is None or order.status == Order.Status.FAILED:
            return order
        # One entry for the one thing the provider reported: the payment failed.
        moved = _move(
            order,
            Order.Status.FAILED,
            source=source,
            kind=OrderEvent.Kind.PAYMENT_DECLINED,
            message=ASYNC_FAILURE_REASON,
        )
        _record_decline(order, reason=ASYNC_FAILURE_REASON, source=source, on_timeline=not moved)
        return order


def order_decline(*, order_reference: str, reason: str, source: Source) -> Order | None:
    """The provider declined a payment attempt for the order: recorded, so the shopper and the
    admin read "Payment declined". The order stays payable while its session is open (a
    second card may succeed); a paid order is untouched. None if the order is not ours."""
    with transaction.atomic(savepoint=False):
        order = Order.objects.select_for_update().filter(reference=order_reference).first()
        if order is None:
            logger.warning(
                "declined payment for unknown order %s source=%s", order_reference, source
            )
            return None
        _record_decline(order, reason=reason, source=source)
        return order


def order_expire(*, session: CheckoutSession, source: Source) -> Order | None:
    """The checkout session expired unpaid: pending → expired."""
    with transaction.atomic(savepoint=False):
        order = _lock_order_for_session(session)
        if order is not None:
            _move(order, Order.Status.EXPIRED, source=source)
        return order


def order_cancel(*, order: Order, source: Source) -> Order:
    """The shopper left the payment page: pending → canceled (a later payment still wins)."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        _move(locked, Order.Status.CANCELED, source=source)
        return locked


def order_refund(*, payment_id: str, source: Source) -> Order | None:
    """The payment was refunded in full: paid (or partially refunded) → refunded."""
    from shop.services.refunds import order_refund_reported

    return order_refund_reported(
        payment_id=payment_id, amount_refunded=None, fully=True, source=source
    )


def order_mark_returned(*, order: Order, source: Source) -> None:
    """The shopper came back from paying, or the payment is still settling: show it as awaiting.

    Marks a pending order once, with its timeline entry; a later call changes nothing.
    """
    with transaction.atomic(savepoint=False):
        updated = Order.objects.filter(
            pk=order.pk, status=Order.Status.PENDING, awaiting_confirmation_since__isnull=True
        ).update(awaiting_confirmation_since=timezone.now())
        if updated:
            OrderEvent.objects.record(order, OrderEvent.Kind.AWAITING_CONFIRMATION, source)
    if updated:
        logger.info("order %s awaiting payment confirmation source=%s", order.reference, source)
