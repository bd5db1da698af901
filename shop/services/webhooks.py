"""Applying provider events: verify, record once, dispatch by our event class.

The event id is recorded in ``PaymentEvent`` (unique) in the same transaction as the
event's effect, so a replayed or concurrently delivered event is a no-op; the order row
lock inside each service decides between an event and the success page racing.
"""

import enum
import logging
from collections.abc import Callable, Mapping

from django.db import IntegrityError, transaction

from shop.models import Order, PaymentEvent
from shop.payments import events as ev
from shop.payments import get_gateway
from shop.services import disputes, fulfilment, invoices, refunds

logger = logging.getLogger(__name__)


class WebhookOutcome(enum.Enum):
    """What became of one delivered event."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"  # this event id was recorded before
    IGNORED = "ignored"  # a type we do not use
    UNUSABLE = "unusable"  # ours to use, but its object could not be read
    UNKNOWN_ORDER = "unknown order"  # about no order of ours


def _completed(event: ev.SessionEvent, source: str) -> Order | None:
    # An unpaid completed session (bank debits, vouchers) stays pending until the
    # delayed payment succeeds; order_fulfil marks it as awaiting confirmation.
    return fulfilment.order_fulfil(session=event.session, source=source)


def _async_failed(event: ev.AsyncPaymentFailed, source: str) -> Order | None:
    return fulfilment.order_fail(session=event.session, source=source)


def _expired(event: ev.SessionExpired, source: str) -> Order | None:
    return fulfilment.order_expire(session=event.session, source=source)


def _attempt_failed(event: ev.PaymentAttemptFailed, source: str) -> Order | None:
    # A declined card at checkout: the session stays open for another attempt.
    return fulfilment.order_decline(
        order_reference=event.order_reference, reason=event.reason, source=source
    )


def _refunded(event: ev.RefundUpdated, source: str) -> Order | None:
    # How much of the payment has gone back so far, in part or in full.
    return refunds.order_refund_reported(
        payment_id=event.refunded_payment_id,
        amount_refunded=event.amount_refunded,
        fully=event.fully_refunded,
        source=source,
    )


def _refund_changed(event: ev.RefundChanged, source: str) -> Order | None:
    return refunds.refund_apply(refund=event.refund, source=source)


def _disputed(event: ev.DisputeUpdated, source: str) -> Order | None:
    # Recorded even when no paid order has the payment yet: applied once it is paid.
    return disputes.dispute_record(event=event, source=source)


def _invoice_ready(event: ev.InvoiceReady, source: str) -> Order | None:
    # Recorded even when no paid order names the invoice yet: attached once it is paid.
    return invoices.invoice_record(event=event, source=source)


HANDLERS: Mapping[type[ev.ProviderEvent], Callable[..., Order | None]] = {
    ev.SessionCompleted: _completed,
    ev.AsyncPaymentSucceeded: _completed,
    ev.AsyncPaymentFailed: _async_failed,
    ev.SessionExpired: _expired,
    ev.PaymentAttemptFailed: _attempt_failed,
    ev.RefundUpdated: _refunded,
    ev.DisputeUpdated: _disputed,
    ev.RefundChanged: _refund_changed,
    ev.InvoiceReady: _invoice_ready,
}


def _invoice_fields(event: ev.ProviderEvent) -> dict:
    if not isinstance(event, ev.InvoiceReady):
        return {}
    return {
        "invoice_id": event.invoice_id,
        "invoice_hosted_url": event.hosted_url,
        "invoice_pdf_url": event.pdf_url,
    }


class _AlreadyRecorded(Exception):
    """The event id was recorded before: its effect is rolled back with this transaction."""


def payment_event_apply(event: ev.ProviderEvent) -> WebhookOutcome:
    """Record and apply one verified event; a known event id changes nothing.

    The record is written last, with the order it was about, in the transaction of the
    event's effect: an event id recorded before (a replay, or the same event delivered to
    another server at once) fails its unique constraint and rolls the effect back.
    """
    handler = HANDLERS.get(type(event))
    source = fulfilment.Source.provider_event(event.id)
    record = PaymentEvent(
        provider_event_id=event.id,
        type=event.type,
        kind=event.kind,
        payment_id=event.payment_id or "",
        full_refund=isinstance(event, ev.RefundUpdated) and event.fully_refunded,
        amount_refunded=event.amount_refunded if isinstance(event, ev.RefundUpdated) else None,
        **_invoice_fields(event),
        payload=dict(event.payload),
    )
    try:
        with transaction.atomic():
            if isinstance(event, ev.UnusableEvent):
                outcome = WebhookOutcome.UNUSABLE
            elif handler is None:
                outcome = WebhookOutcome.IGNORED
            else:
                record.order = handler(event, source)
                outcome = (
                    WebhookOutcome.UNKNOWN_ORDER if record.order is None else WebhookOutcome.APPLIED
                )
            try:
                record.save(force_insert=True)
            except IntegrityError as exc:
                # The only unique field of a record is its event id.
                raise _AlreadyRecorded from exc
    except _AlreadyRecorded:
        outcome = WebhookOutcome.DUPLICATE
    except Exception:
        # A replay must not fail on an effect it would not have had: it is acknowledged.
        if not PaymentEvent.objects.filter(provider_event_id=event.id).exists():
            raise
        outcome = WebhookOutcome.DUPLICATE
    if outcome is WebhookOutcome.DUPLICATE:
        logger.info("webhook event %s (%s) already handled", event.id, event.type)
    elif outcome is WebhookOutcome.UNUSABLE:
        # Signed by the provider but not usable by us: keep the record, acknowledge it.
        logger.warning("webhook event %s (%s) unusable: %s", event.id, event.type, event.problem)
    elif outcome is WebhookOutcome.IGNORED:
        logger.info("webhook event %s of type %s not handled", event.id, event.type)
    return outcome


def webhook_deliver(*, body: bytes, headers: Mapping[str, str]) -> WebhookOutcome:
    """Verify a raw webhook delivery with the configured gateway, then apply it.

    Raises the gateway's ``InvalidSignature`` or ``MalformedEvent`` for a delivery that
    is not a usable event; nothing is recorded then.
    """
    return payment_event_apply(get_gateway().parse_event(body, headers))
