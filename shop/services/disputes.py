"""Disputes from the provider's events: recorded once per dispute, kept up to date, on the
order's timeline, and told once to the store's support address.

A dispute is about a payment. When no paid order of ours has that payment yet (its event
came first, or the payment is not ours) the dispute is kept with its payment id and no
order; :func:`disputes_attach` joins it to the order once the order is paid.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import QuerySet
from django.utils import formats, timezone

from shop.models import Dispute, Order, OrderEvent, Source
from shop.money import format_money
from shop.payments.events import DisputeUpdated

logger = logging.getLogger(__name__)

_PHASE_KINDS = {
    DisputeUpdated.Phase.OPENED: OrderEvent.Kind.DISPUTE_OPENED,
    DisputeUpdated.Phase.UPDATED: OrderEvent.Kind.DISPUTE_UPDATED,
    DisputeUpdated.Phase.CLOSED: OrderEvent.Kind.DISPUTE_CLOSED,
}


def dispute_summary(dispute: Dispute) -> str:
    """One line for the timeline and the e-mail: amount, reason, status and deadline."""
    parts = [
        f"{dispute.provider_dispute_id}: {format_money(dispute.amount, dispute.currency)}",
        dispute.reason_display.lower() if dispute.reason else "no reason given",
        dispute.status_display.lower(),
    ]
    if dispute.is_open and dispute.evidence_due_by:
        due = formats.date_format(timezone.localtime(dispute.evidence_due_by), "DATETIME_FORMAT")
        parts.append(f"evidence due by {due}")
    return ", ".join(parts)


def _is_newer(dispute: Dispute, event: DisputeUpdated, reported_at: dt.datetime) -> bool:
    """Whether the event says something later than what the dispute holds.

    Events arrive in any order. At the same moment a closing status wins over an open one.
    """
    if reported_at != dispute.status_reported_at:
        return reported_at > dispute.status_reported_at
    return dispute.is_open or event.status in Dispute.CLOSED_STATUSES


def dispute_record(*, event: DisputeUpdated, source: Source) -> Order | None:
    """Create or update the event's dispute; on its order's timeline when the order is known.

    The caller holds the transaction that records the event id, so a replay never gets
    here. Returns the order (None when no paid order has the payment yet). A new dispute
    queues one notice to the store's support address after commit.
    """
    reported_at = event.occurred_at or timezone.now()
    order = (
        Order.objects.select_for_update()
        .filter(payment_id=event.disputed_payment_id)
        .exclude(payment_id="")
        .first()
    )
    dispute, created = Dispute.objects.select_for_update().get_or_create(
        provider_dispute_id=event.dispute_id,
        defaults={
            "order": order,
            "payment_id": event.disputed_payment_id,
            "amount": event.amount,
            "currency": event.currency,
            "reason": event.reason,
            "status": event.status,
            "evidence_due_by": event.evidence_due_by,
            "opened_at": reported_at,
            "status_reported_at": reported_at,
            "closed_at": reported_at if event.status in Dispute.CLOSED_STATUSES else None,
            "last_provider_event_id": event.id,
        },
    )
    if not created and _is_newer(dispute, event, reported_at):
        dispute.amount = event.amount
        dispute.currency = event.currency
        dispute.reason = event.reason or dispute.reason
        dispute.status = event.status
        dispute.evidence_due_by = event.evidence_due_by or dispute.evidence_due_by
        dispute.status_reported_at = reported_at
        closed = event.status in Dispute.CLOSED_STATUSES
        dispute.closed_at = (dispute.closed_at or reported_at) if closed else None
        dispute.last_provider_event_id = event.id
    if not created:
        if dispute.order_id is None and order is not None:
            dispute.order = order
        dispute.opened_at = min(dispute.opened_at, reported_at)
        dispute.save()
    if order is not None:
        OrderEvent.objects.record(
            order, _PHASE_KINDS[event.phase], source, message=dispute_summary(dispute)
        )
        logger.warning(
            "order %s dispute %s %s (%s) source=%s",
            order.reference,
            dispute.provider_dispute_id,
            event.phase,
            dispute.status,
            source,
        )
    else:
        logger.warning(
            "dispute %s on payment %s, which no paid order has yet source=%s",
            dispute.provider_dispute_id,
            event.disputed_payment_id,
            source,
        )
    if created:
        from shop.tasks import dispute_notice_queue

        dispute_id = dispute.pk
        transaction.on_commit(lambda: dispute_notice_queue(dispute_id))
    return order


def disputes_waiting(payment_id) -> QuerySet[Dispute]:
    """Disputes of the payment ``payment_id`` (a value, or an expression naming it) reported
    before it reached an order of ours."""
    return Dispute.objects.filter(payment_id=payment_id, order__isnull=True)


def disputes_attach(order: Order) -> None:
    """On a locked order just paid: disputes reported before its payment join it, each with
    one timeline entry saying where it stands."""
    if not order.payment_id:
        return
    waiting = disputes_waiting(order.payment_id).select_for_update()
    for dispute in waiting:
        dispute.order = order
        dispute.save(update_fields=["order"])
        kind = OrderEvent.Kind.DISPUTE_OPENED if dispute.is_open else OrderEvent.Kind.DISPUTE_CLOSED
        OrderEvent.objects.record(
            order,
            kind,
            Source.provider_event(dispute.last_provider_event_id),
            message=f"{dispute_summary(dispute)} (reported before the payment)",
        )
        logger.warning(
            "order %s dispute %s reported before its payment, now attached",
            order.reference,
            dispute.provider_dispute_id,
        )
