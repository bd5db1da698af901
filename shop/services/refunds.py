"""Refunds: a record first, then the gateway, then the provider's events decide.

``refund_create`` writes a pending :class:`~shop.models.Refund` under the order's row lock
(so two operators at once cannot both give back the same money), then asks the gateway
outside any transaction with the idempotency key ``refund-<id>``. Nothing is marked
refunded from our request: the refund's status, the order's ``amount_refunded`` and its
status (paid → partially refunded → refunded) move only from what the provider reports,
through ``refund_apply`` (a refund's event, or reconciliation asking about it) and
``order_refund_reported`` (a charge's cumulative refunded amount). A refund made at the
provider (its Dashboard) is recorded from its event the same way.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone

from shop.models import Order, OrderEvent, OrderLine, PaymentEvent, Refund, RefundLine, Source
from shop.money import format_money
from shop.payments import get_gateway
from shop.payments.base import (
    GatewayUnavailable,
    PaymentError,
    PaymentGateway,
    ProviderRefund,
    RefundRequest,
)
from shop.payments.events import EventKind
from shop.services.fulfilment import _move
from shop.shop_state import shop_state_changed

logger = logging.getLogger(__name__)

# What the provider's failure codes mean, in words an operator can act on.
FAILURE_REASONS = {
    "lost_or_stolen_card": "The card was reported lost or stolen.",
    "expired_or_canceled_card": "The card has expired or was canceled.",
    "charge_for_pending_refund_disputed": "The payment is disputed.",
    "insufficient_funds": "The account has insufficient funds for the refund.",
    "declined": "The customer's bank declined the refund.",
    "merchant_request": "The refund was canceled at the payment provider.",
}
UNKNOWN_FAILURE = "The payment provider could not make the refund."
# Reasons the provider is told; "other" is told none.
PROVIDER_REASONS = frozenset(
    {
        Refund.Reason.REQUESTED_BY_CUSTOMER,
        Refund.Reason.DUPLICATE,
        Refund.Reason.FRAUDULENT,
    }
)
# Refunds that count against what is left: taken (succeeded) or on their way (pending).
COUNTED = (Refund.Status.PENDING, Refund.Status.SUCCEEDED)
_STATUS_FROM_PROVIDER = {
    "succeeded": Refund.Status.SUCCEEDED,
    "failed": Refund.Status.FAILED,
    "canceled": Refund.Status.CANCELED,
}


class RefundNotAllowed(Exception):
    """A refund the rules refuse; ``message`` is safe to show the operator."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RefundOutcome:
    """A refund as it stands after asking the gateway; ``problem`` says why the provider
    has not taken it (yet): unreachable (still pending, retried) or refused (failed)."""

    refund: Refund
    problem: str = ""


def refund_left(order: Order) -> int:
    """What may still be refunded: the total less what is refunded and what is on its way."""
    sums = Refund.objects.filter(order=order, status__in=COUNTED).aggregate(
        pending=Sum("amount", filter=Q(status=Refund.Status.PENDING), default=0),
        succeeded=Sum("amount", filter=Q(status=Refund.Status.SUCCEEDED), default=0),
    )
    refunded = max(order.amount_refunded, sums["succeeded"])
    return max(0, order.amount_total - refunded - sums["pending"])


def refundable_quantities(order: Order) -> dict[int, int]:
    """Units of each order line not yet given back (by a succeeded or pending refund)."""
    given = dict(
        RefundLine.objects.filter(refund__order=order, refund__status__in=COUNTED)
        .values("order_line")
        .annotate(units=Sum("quantity"))
        .values_list("order_line", "units")
    )
    return {line.pk: line.quantity - given.get(line.pk, 0) for line in order.lines.all()}


def _validated_lines(order: Order, lines: Mapping[int, int]) -> list[tuple[OrderLine, int]]:
    by_id = {line.pk: line for line in order.lines.all()}
    left = refundable_quantities(order)
    chosen = []
    for line_id, quantity in lines.items():
        line = by_id.get(line_id)
        if line is None:
            raise RefundNotAllowed("That line is not part of this order.")
        if quantity <= 0:
            continue
        if quantity > left[line_id]:
            raise RefundNotAllowed(
                f"{line.product_name}: {quantity} asked, only {left[line_id]} left to refund."
            )
        chosen.append((line, quantity))
    if not chosen:
        raise RefundNotAllowed("Choose at least one unit to refund.")
    return chosen


def refund_create(
    *,
    order: Order,
    amount: int | None,
    reason: str,
    requested_by,
    lines: Mapping[int, int] | None = None,
    restock: bool = False,
    note: str = "",
    token: uuid.UUID | None = None,
    gateway: PaymentGateway | None = None,
) -> RefundOutcome:
    """Refund ``amount`` of a paid order (or, with ``amount`` None, the ``lines``' value —
    {order line id: units} — or else all that is left), then ask the gateway.

    Refuses with :class:`RefundNotAllowed`, writing nothing and asking nothing, an amount
    of zero or less, more than :func:`refund_left`, more units than were bought less those
    already refunded, restocking without lines, or an order that is not paid. The same
    ``token`` (one form submitted twice) gives the same refund, asked again with its key.
    """
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        refund = Refund.objects.filter(request_token=token).first() if token else None
        if refund is None:
            refund = _refund_record(
                locked,
                amount=amount,
                reason=reason,
                requested_by=requested_by,
                lines=lines,
                restock=restock,
                note=note,
                token=token,
            )
    if refund.status != Refund.Status.PENDING:
        return RefundOutcome(refund)
    return refund_ask(refund, gateway=gateway)


def _refund_record(
    order: Order,
    *,
    amount: int | None,
    reason: str,
    requested_by,
    lines: Mapping[int, int] | None,
    restock: bool,
    note: str,
    token: uuid.UUID | None,
) -> Refund:
    if order.status not in Order.REFUNDABLE_STATUSES or not order.payment_id:
        raise RefundNotAllowed(
            f"Only a paid order can be refunded; this one is {order.status_label.lower()}."
        )
    if reason not in Refund.Reason.values:
        raise RefundNotAllowed("Choose a reason for the refund.")
    chosen = _validated_lines(order, lines) if lines else []
    if restock and not chosen:
        raise RefundNotAllowed("Choose the lines whose units go back to stock.")
    left = refund_left(order)
    if amount is None:
        amount = min(left, sum(line.unit_amount * qty for line, qty in chosen)) if chosen else left
    if amount <= 0:
        raise RefundNotAllowed(
            "Nothing is left to refund on this order." if left <= 0 else "Refund more than zero."
        )
    if amount > left:
        raise RefundNotAllowed(
            f"{format_money(amount, order.currency)} is more than is left to refund "
            f"({format_money(left, order.currency)})."
        )
    refund = Refund.objects.create(
        order=order,
        payment_id=order.payment_id,
        amount=amount,
        currency=order.currency,
        reason=reason,
        note=note[:500],
        restock=restock,
        requested_by=requested_by,
        request_token=token,
    )
    RefundLine.objects.bulk_create(
        RefundLine(refund=refund, order_line=line, quantity=qty) for line, qty in chosen
    )
    source = Source.admin_user(requested_by) if requested_by is not None else Source.system()
    OrderEvent.objects.record(
        order, OrderEvent.Kind.REFUND_REQUESTED, source, message=_describe(refund, chosen)
    )
    logger.info(
        "order %s refund %s of %s requested source=%s", order.reference, refund.pk, amount, source
    )
    return refund


def _describe(refund: Refund, chosen=()) -> str:
    what = ", ".join(f"{line.product_name} × {qty}" for line, qty in chosen)
    text = f"{refund.amount_display} ({refund.get_reason_display().lower()})"
    return f"{text}: {what}" if what else text


def refund_ask(refund: Refund, *, gateway: PaymentGateway | None = None) -> RefundOutcome:
    """Ask the gateway for a pending refund, outside any transaction, with its own key.

    Unreachable: it stays pending (reconciliation asks again with the same key). Refused:
    it fails, on the timeline. Taken: the provider's refund id is kept; whether it
    succeeded is the provider's events' to say.
    """
    gateway = gateway or get_gateway()
    order = refund.order
    request = RefundRequest(
        refund_id=refund.pk,
        order_reference=order.reference,
        payment_id=refund.payment_id,
        amount=refund.amount,
        currency=refund.currency,
        reason=refund.reason if refund.reason in PROVIDER_REASONS else None,
    )
    try:
        answer = gateway.create_refund(request)
    except GatewayUnavailable as exc:
        logger.warning("order %s refund %s left pending: %s", order.reference, refund.pk, exc)
        return RefundOutcome(
            refund,
            "The payment service could not be reached; the refund is pending and will be "
            "retried automatically.",
        )
    except PaymentError as exc:
        _refund_fail(refund, reason=exc.user_message, source=Source.system())
        refund.refresh_from_db()
        return RefundOutcome(refund, exc.user_message)
    Refund.objects.filter(pk=refund.pk, provider_refund_id__isnull=True).update(
        provider_refund_id=answer.id
    )
    if answer.status in ("failed", "canceled"):
        refund_apply(refund=answer, source=Source.system())
    refund.refresh_from_db()
    if refund.status == Refund.Status.FAILED:
        return RefundOutcome(refund, refund.failure_reason)
    return RefundOutcome(refund)


def _refund_fail(refund: Refund, *, reason: str, source: Source) -> None:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=refund.order_id)
        record = Refund.objects.select_for_update().get(pk=refund.pk)
        _record_status(order, record, Refund.Status.FAILED, source=source, failure_reason=reason)


def _find_record(refund: ProviderRefund) -> Refund | None:
    """Ours by the metadata we sent, else by the provider's id (the event may come first)."""
    record = None
    if refund.refund_id is not None:
        record = Refund.objects.filter(pk=refund.refund_id, made_at_provider=False).first()
    if record is None:
        record = Refund.objects.filter(provider_refund_id=refund.id).first()
    return record


def refund_apply(*, refund: ProviderRefund, source: Source) -> Order | None:
    """What the provider says about one refund, applied once.

    Finds our record (or records one made at the provider), keeps the provider's id, and
    moves its status; a refund that succeeded moves the order's ``amount_refunded`` and
    status, puts restocked units back on sale and queues the shopper's e-mail. Returns the
    order (None while its payment is not one of our paid orders: applied when it is).
    """
    with transaction.atomic():
        record = _find_record(refund)
        order_id = record.order_id if record is not None else None
        if order_id is None and refund.payment_id:
            order_id = (
                Order.objects.filter(payment_id=refund.payment_id, status__in=Order.PAID_STATUSES)
                .values_list("pk", flat=True)
                .first()
            )
        order = Order.objects.select_for_update().filter(pk=order_id).first() if order_id else None
        if record is None:
            record, _ = Refund.objects.get_or_create(
                provider_refund_id=refund.id,
                defaults={
                    "order": order,
                    "payment_id": refund.payment_id or "",
                    "amount": refund.amount,
                    "currency": refund.currency or (order.currency if order else ""),
                    "reason": refund.reason
                    if refund.reason in Refund.Reason.values
                    else Refund.Reason.OTHER,
                    "made_at_provider": True,
                },
            )
        record = Refund.objects.select_for_update().get(pk=record.pk)
        if record.order_id is None and order is not None:
            record.order = order
            record.save(update_fields=["order", "updated_at"])
        if record.provider_refund_id is None:
            record.provider_refund_id = refund.id
            record.save(update_fields=["provider_refund_id", "updated_at"])
        status = _STATUS_FROM_PROVIDER.get(refund.status, Refund.Status.PENDING)
        failure = FAILURE_REASONS.get(refund.failure_reason or "", UNKNOWN_FAILURE)
        if order is None:
            # Recorded; the payment's own event attaches it (refunds_attach).
            if record.status != status:
                record.status = status
                record.failure_reason = failure if status != Refund.Status.SUCCEEDED else ""
                record.save(update_fields=["status", "failure_reason", "updated_at"])
            return None
        _record_status(order, record, status, source=source, failure_reason=failure)
        return order


def _record_status(
    order: Order, record: Refund, status: str, *, source: Source, failure_reason: str = ""
) -> None:
    """On a locked order: move one refund's status, once, on the order's timeline."""
    if record.status == status or record.status in (Refund.Status.FAILED, Refund.Status.CANCELED):
        return
    if status == Refund.Status.PENDING:
        return
    record.status = status
    if status == Refund.Status.SUCCEEDED:
        record.succeeded_at = timezone.now()
        record.save(update_fields=["status", "succeeded_at", "updated_at"])
        who = "made at the payment provider" if record.made_at_provider else "refund"
        OrderEvent.objects.record(
            order,
            OrderEvent.Kind.REFUND_SUCCEEDED,
            source,
            message=f"{record.amount_display} refunded ({who} {record.provider_refund_id})",
        )
        logger.info("order %s refund %s succeeded source=%s", order.reference, record.pk, source)
        if record.restock:
            _restock(order, record, source=source)
        _order_settle(order, source=source)
        refund_id = record.pk
        from shop.tasks import refund_email_queue

        transaction.on_commit(lambda: refund_email_queue(refund_id))
        return
    record.failure_reason = (failure_reason or UNKNOWN_FAILURE)[:255]
    record.save(update_fields=["status", "failure_reason", "updated_at"])
    OrderEvent.objects.record(
        order,
        OrderEvent.Kind.REFUND_FAILED,
        source,
        message=f"{record.amount_display}: {record.failure_reason}",
    )
    logger.warning("order %s refund %s %s source=%s", order.reference, record.pk, status, source)


def _restock(order: Order, record: Refund, *, source: Source) -> None:
    """On a locked order: the refund's units of tracked, sold lines go back on sale, once."""
    returned = []
    for refund_line in record.lines.select_related("order_line"):
        line = refund_line.order_line
        units = min(refund_line.quantity, line.held_quantity - line.returned_quantity)
        if line.sold_at is None or units <= 0:
            continue
        OrderLine.objects.filter(pk=line.pk).update(
            returned_quantity=F("returned_quantity") + units
        )
        returned.append(f"{line.product_name} × {units}")
    Refund.objects.filter(pk=record.pk).update(restocked_at=timezone.now())
    if returned:
        shop_state_changed()  # the units are back on sale: the cards say so
        OrderEvent.objects.record(
            order,
            OrderEvent.Kind.STOCK_RETURNED,
            source,
            message=f"Returned to stock: {', '.join(returned)}",
        )


def _order_settle(order: Order, *, source: Source, reported: int = 0) -> None:
    """On a locked, paid order: ``amount_refunded`` from what the provider has reported (its
    succeeded refunds, or a charge's cumulative ``reported`` amount), and the status with it.

    The amount only grows: events come in any order, and a charge's cumulative figure and
    the single refunds describe the same money.
    """
    if order.status not in Order.PAID_STATUSES:
        return
    succeeded = Refund.objects.filter(order=order, status=Refund.Status.SUCCEEDED).aggregate(
        total=Sum("amount", default=0)
    )["total"]
    amount = min(order.amount_total, max(order.amount_refunded, succeeded, reported))
    if amount == order.amount_refunded:
        return
    order.amount_refunded = amount
    target = (
        Order.Status.REFUNDED if amount >= order.amount_total else Order.Status.PARTIALLY_REFUNDED
    )
    message = f"{order.refunded_display} of {order.total_display} refunded"
    if not _move(order, target, source=source, message=message, fields=("amount_refunded",)):
        order.save(update_fields=["amount_refunded", "updated_at"])
        if reported:
            OrderEvent.objects.record(
                order, OrderEvent.Kind.REFUND_SUCCEEDED, source, message=message
            )


def order_refund_reported(
    *, payment_id: str, amount_refunded: int | None, fully: bool, source: Source
) -> Order | None:
    """The provider says how much of a payment has gone back so far (cumulative)."""
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(payment_id=payment_id).first()
        if order is None:
            logger.warning("refund for unknown payment %s source=%s", payment_id, source)
            return None
        reported = order.amount_total if fully else (amount_refunded or 0)
        _order_settle(order, source=source, reported=reported)
        return order


def refunds_waiting(payment_id) -> QuerySet[Refund]:
    """Refunds made at the provider before the payment ``payment_id`` (a value, or an
    expression naming it) reached an order of ours."""
    return Refund.objects.filter(order__isnull=True, payment_id=payment_id)


def refund_events_waiting(payment_id) -> QuerySet[PaymentEvent]:
    """The refund events about the payment ``payment_id`` (value or expression): what each
    said had gone back so far."""
    return PaymentEvent.objects.filter(kind=EventKind.REFUND_UPDATED, payment_id=payment_id)


def refunds_attach(order: Order, *, source: Source) -> None:
    """On a locked order just paid: refunds whose events came before its payment's apply now.

    Refunds made at the provider were recorded without an order; a charge's cumulative
    refunded amount was recorded on its ``PaymentEvent``.
    """
    if not order.payment_id:
        return
    early = list(refunds_waiting(order.payment_id))
    for record in early:
        status, record.status = record.status, Refund.Status.PENDING
        Refund.objects.filter(pk=record.pk).update(order=order, status=Refund.Status.PENDING)
        record.order = order
        _record_status(order, record, status, source=source, failure_reason=record.failure_reason)
    reported = 0
    for event in refund_events_waiting(order.payment_id):
        amount = order.amount_total if event.full_refund else (event.amount_refunded or 0)
        reported = max(reported, amount)
    if reported:
        _order_settle(order, source=source, reported=reported)


def refunds_reconcile(*, gateway: PaymentGateway | None = None) -> list[str]:
    """Ask again about every pending refund: with its key when the provider has no id for
    it yet, else by its id. Returns the ids of the refunds asked about; stops (raising
    GatewayUnavailable) when the gateway cannot be reached."""
    gateway = gateway or get_gateway()
    asked = []
    pending = Refund.objects.filter(status=Refund.Status.PENDING, order__isnull=False)
    for record in pending.select_related("order").order_by("pk"):
        if record.provider_refund_id:
            try:
                answer = gateway.retrieve_refund(record.provider_refund_id)
            except GatewayUnavailable:
                raise
            except PaymentError as exc:
                logger.warning("refund %s could not be asked about: %s", record.pk, exc)
                continue
            refund_apply(refund=answer, source=Source.reconciliation())
        else:
            outcome = refund_ask(record, gateway=gateway)
            if outcome.problem and outcome.refund.status == Refund.Status.PENDING:
                raise GatewayUnavailable(outcome.problem)
        asked.append(str(record.pk))
    return asked
