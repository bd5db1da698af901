"""Reconciliation: settle pending orders whose webhook never came, by asking the gateway.

``manage.py reconcile_payments`` runs this from cron, possibly on several machines at once.
Correctness never depends on running alone: the gateway's answer is the truth, and every
change goes through the fulfilment services the webhook uses, which lock the order row,
move it at most once and do nothing when repeated. Before asking about an order, a short
``select_for_update(skip_locked=True)`` re-check skips one that a webhook or another run is
settling at this moment, or that is no longer pending. No row lock is held while the
gateway is asked: a slow payment provider must not stall webhooks or lock SQLite.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from shop import selectors
from shop.models import Order, Refund, Source
from shop.payments import get_gateway
from shop.payments.base import CheckoutSession, GatewayUnavailable, PaymentError, PaymentGateway
from shop.services.fulfilment import order_expire, order_fulfil, stock_holds_release_lapsed
from shop.services.refunds import refunds_reconcile
from shop.tasks import (
    order_confirmation_resend,
    order_confirmation_send,
    order_shipped_email_send,
    refund_email_send,
    shipped_email_due_q,
)

logger = logging.getLogger(__name__)

SOURCE = Source.reconciliation()

# What happened to one order; the command prints these and counts them.
PAID = "paid"
EXPIRED = "expired"
STILL_OPEN = "still open"
PROCESSING = "processing"
SKIPPED = "skipped"
ERROR = "error"
ACTIONS = (PAID, EXPIRED, STILL_OPEN, PROCESSING, SKIPPED, ERROR)


@dataclass(frozen=True)
class OrderOutcome:
    reference: str
    session_id: str
    action: str
    detail: str


@dataclass
class ReconcileReport:
    """What one run found and did (or, in a dry run, would do)."""

    older_than: dt.timedelta
    dry_run: bool
    outcomes: list[OrderOutcome] = field(default_factory=list)
    # Paid orders whose confirmation e-mail (or a resend asked for) had not gone out, queued again.
    confirmations_requeued: list[str] = field(default_factory=list)
    # Shipped orders whose shipped e-mail had never gone out (its sender died), queued again.
    shipped_emails_requeued: list[str] = field(default_factory=list)
    # Succeeded refunds whose e-mail the mail server refused every time, queued again
    # ("REFERENCE refund ID").
    refund_emails_requeued: list[str] = field(default_factory=list)
    # Orders whose stock hold ran out with the order still pending, released on its timeline.
    holds_released: list[str] = field(default_factory=list)
    # Pending refunds asked about again (their ids), with the same idempotency key.
    refunds_retried: list[str] = field(default_factory=list)
    # Set when the gateway could not be reached: the run stopped there.
    gateway_error: str | None = None
    unchecked: int = 0

    @property
    def counts(self) -> Counter:
        return Counter(outcome.action for outcome in self.outcomes)

    @property
    def ok(self) -> bool:
        return self.gateway_error is None and not self.counts[ERROR]


def _recheck(order_id: int) -> Order | None:
    """The order if it is free right now; None when another process holds its row."""
    with transaction.atomic():
        return Order.objects.select_for_update(skip_locked=True).filter(pk=order_id).first()


def _describe(session: CheckoutSession) -> str:
    if session.is_paid:
        return "paid at the gateway"
    if session.status == "complete":
        return "completed at the gateway"
    return f"{session.status} at the gateway"


def _settled(order: Order, session: CheckoutSession, how: str, *, dry_run: bool) -> OrderOutcome:
    """Apply what the gateway reports through the webhook's services and describe the result."""

    def outcome(action: str, detail: str) -> OrderOutcome:
        return OrderOutcome(order.reference, order.payment_session_id or "", action, detail)

    if session.is_paid:
        if dry_run:
            return outcome(PAID, f"{how}; would mark the order paid")
        result = order_fulfil(session=session, source=SOURCE)
        if result is not None and result.status == Order.Status.PAID:
            return outcome(PAID, f"{how} → order paid")
        status = result.status if result is not None else "not found"
        # order_fulfil has logged why (an amount or currency that does not match).
        return outcome(ERROR, f"{how} but the order was not marked paid (it is {status})")
    if session.is_expired:
        if dry_run:
            return outcome(EXPIRED, f"{how}; would mark the order expired")
        result = order_expire(session=session, source=SOURCE)
        status = result.status if result is not None else "not found"
        return outcome(EXPIRED, f"{how} → order {status}")
    if session.status == "complete":
        # A bank debit or voucher still settling: the webhook will say how it ends.
        if not dry_run:
            order_fulfil(session=session, source=SOURCE)
        return outcome(PROCESSING, f"{how}, payment still processing; left pending")
    return outcome(ERROR, f"gateway reports an unknown session status {session.status!r}")


def _reconcile_one(
    order: Order, gateway: PaymentGateway, *, now: dt.datetime, dry_run: bool
) -> OrderOutcome:
    session = gateway.retrieve_session(order.payment_session_id)
    if not session.is_open:
        return _settled(order, session, _describe(session), dry_run=dry_run)
    expires_at = session.expires_at or order.session_expires_at
    if expires_at is None or expires_at > now:
        until = f" until {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
        return OrderOutcome(
            order.reference, session.id, STILL_OPEN, f"still open at the gateway{until}"
        )
    if dry_run:
        return OrderOutcome(
            order.reference,
            session.id,
            EXPIRED,
            "open past its expiry; would expire it at the gateway and settle the order",
        )
    # The gateway answers with the session as it stands: a payment made a moment ago wins.
    session = gateway.expire_session(session.id)
    if session.is_open:
        return OrderOutcome(
            order.reference, session.id, ERROR, "open past its expiry and the gateway kept it open"
        )
    return _settled(order, session, f"open past its expiry, {_describe(session)}", dry_run=False)


def _confirmations_requeue(*, cutoff: dt.datetime, now: dt.datetime, dry_run: bool) -> list[str]:
    """Queue again the confirmation of paid orders whose e-mail never went out.

    A send that failed every retry gives its claim back, and a sender killed mid-send
    leaves a claim whose lease runs out; this is the later run that tries again. A live
    claim (a send in progress) is left alone, so it stays one e-mail however often it is
    queued; only after a crash can a second copy go out, with the same Message-ID.
    """
    due = (
        Order.objects.filter(
            Q(confirmation_claimed_until__isnull=True) | Q(confirmation_claimed_until__lte=now),
            status__in=Order.PAID_STATUSES,
            confirmation_emailed_at__isnull=True,
            paid_at__lte=cutoff,
        )
        .exclude(customer_email="")
        .order_by("paid_at", "pk")
    )
    # A resend an operator asked for whose every attempt failed is still asked for: again.
    resends = (
        Order.objects.filter(confirmation_resend_requested_at__lte=cutoff)
        .exclude(customer_email="")
        .order_by("confirmation_resend_requested_at", "pk")
    )
    return _requeue(due, order_confirmation_send, dry_run=dry_run) + _requeue(
        resends, order_confirmation_resend, dry_run=dry_run
    )


def _requeue(due, send, *, dry_run: bool) -> list[str]:
    """Queue ``send`` for each order in ``due``; their references, in order."""
    requeued = []
    for order_id, reference in due.values_list("pk", "reference"):
        if not dry_run:
            send.enqueue(order_id)
        requeued.append(reference)
    return requeued


def _shipped_emails_requeue(*, cutoff: dt.datetime, now: dt.datetime, dry_run: bool) -> list[str]:
    """Queue again the shipped e-mail of orders shipped before ``cutoff`` that never got it:
    the same rule as confirmations (a live claim is a send in progress, left alone)."""
    due = (
        Order.objects.filter(shipped_email_due_q(now), shipped_at__lte=cutoff)
        .exclude(customer_email="")
        .order_by("shipped_at", "pk")
    )
    return _requeue(due, order_shipped_email_send, dry_run=dry_run)


def _refund_emails_requeue(*, cutoff: dt.datetime, dry_run: bool) -> list[str]:
    """Queue again the e-mail of refunds that succeeded before ``cutoff`` and were never
    e-mailed: a send that failed every attempt gave its claim back."""
    due = (
        Refund.objects.filter(
            status=Refund.Status.SUCCEEDED, emailed_at__isnull=True, succeeded_at__lte=cutoff
        )
        .exclude(order__isnull=True)
        .exclude(order__customer_email="")
        .order_by("succeeded_at", "pk")
        .values_list("pk", "order__reference")
    )
    requeued = []
    for refund_id, reference in due:
        if not dry_run:
            refund_email_send.enqueue(refund_id)
        requeued.append(f"{reference} refund {refund_id}")
    return requeued


def payments_reconcile(
    *,
    older_than: dt.timedelta = selectors.STALE_PENDING_AFTER,
    dry_run: bool = False,
    gateway: PaymentGateway | None = None,
    now: dt.datetime | None = None,
) -> ReconcileReport:
    """Ask the gateway about every pending order whose session is older than ``older_than``.

    Paid sessions are fulfilled, expired ones expire the order, and open ones past their
    expiry are expired at the gateway first (a payment that beat us to it is fulfilled).
    Each order is settled by the same services, with ``Source.reconciliation()``. When the
    gateway is unreachable the run stops at once and reports it (``gateway_error``); orders
    not yet reached are left untouched. ``dry_run`` asks the gateway but changes nothing.
    Pending refunds are asked about again (``refunds_reconcile``: same idempotency key).
    """
    gateway = gateway or get_gateway()
    now = now or timezone.now()
    report = ReconcileReport(older_than=older_than, dry_run=dry_run)
    candidates = list(
        selectors.order_list_awaiting_confirmation(older_than=older_than, now=now).values_list(
            "pk", "reference", "payment_session_id"
        )
    )
    for position, (order_id, reference, session_id) in enumerate(candidates):
        order = _recheck(order_id)
        if order is None:
            report.outcomes.append(
                OrderOutcome(reference, session_id, SKIPPED, "being settled by another process")
            )
            continue
        if order.status != Order.Status.PENDING:
            report.outcomes.append(
                OrderOutcome(
                    order.reference,
                    order.payment_session_id or "",
                    SKIPPED,
                    f"already {order.status}",
                )
            )
            continue
        try:
            outcome = _reconcile_one(order, gateway, now=now, dry_run=dry_run)
        except GatewayUnavailable as exc:
            report.gateway_error = str(exc)
            report.unchecked = len(candidates) - position
            logger.warning(
                "reconciliation stopped: payment gateway unavailable at order %s (%d unchecked)",
                order.reference,
                report.unchecked,
            )
            break
        except PaymentError as exc:
            outcome = OrderOutcome(
                order.reference, order.payment_session_id or "", ERROR, f"gateway refused: {exc}"
            )
            logger.warning("reconciliation could not settle order %s: %s", order.reference, exc)
        report.outcomes.append(outcome)
    if report.gateway_error is None:
        report.confirmations_requeued = _confirmations_requeue(
            cutoff=now - older_than, now=now, dry_run=dry_run
        )
        report.shipped_emails_requeued = _shipped_emails_requeue(
            cutoff=now - older_than, now=now, dry_run=dry_run
        )
        report.refund_emails_requeued = _refund_emails_requeue(
            cutoff=now - older_than, dry_run=dry_run
        )
    if not dry_run:
        # Their units already count as available; this puts the release on the timeline.
        report.holds_released = stock_holds_release_lapsed(source=SOURCE, now=now)
    if not dry_run and report.gateway_error is None:
        try:
            report.refunds_retried = refunds_reconcile(gateway=gateway)
        except GatewayUnavailable as exc:
            report.gateway_error = str(exc)
    counts = report.counts
    logger.info(
        "reconciliation%s checked %d pending orders: %s; %d confirmations requeued;"
        " %d stock holds released%s",
        " (dry run)" if dry_run else "",
        len(report.outcomes),
        ", ".join(f"{counts[action]} {action}" for action in ACTIONS if counts[action]) or "none",
        len(report.confirmations_requeued),
        len(report.holds_released),
        "; gateway unavailable" if report.gateway_error else "",
    )
    return report
