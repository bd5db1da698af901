"""Applying provider events: verify, record once, dispatch by type.

The event id is recorded in ``PaymentEvent`` (unique) in the same transaction as the
event's effect, so a replayed or concurrently delivered event is a no-op; the order row
lock inside each service decides between an event and the success page racing.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.db import transaction

from shop.models import Order, PaymentEvent
from shop.payments import webhook_secret
from shop.payments.base import InvalidSignature
from shop.payments.events import (
    MalformedEvent,
    event_from_dict,
    payment_failure_from_intent,
    refund_from_charge,
    session_from_dict,
)
from shop.services import fulfilment

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """What the webhook endpoint answers: an HTTP status and a short reason."""

    status: int
    detail: str


def _completed(obj: Mapping, source: str) -> Order | None:
    # An unpaid completed session (bank debits, vouchers) stays pending until
    # async_payment_succeeded; order_fulfil marks it as awaiting confirmation.
    return fulfilment.order_fulfil(session=session_from_dict(obj), source=source)


def _async_failed(obj: Mapping, source: str) -> Order | None:
    return fulfilment.order_fail(session=session_from_dict(obj), source=source)


def _expired(obj: Mapping, source: str) -> Order | None:
    return fulfilment.order_expire(session=session_from_dict(obj), source=source)


def _payment_failed(obj: Mapping, source: str) -> Order | None:
    # A declined card at Checkout: the session stays open for another attempt.
    failure = payment_failure_from_intent(obj)
    return fulfilment.order_decline(
        order_reference=failure.order_reference, reason=failure.reason, source=source
    )


def _refunded(obj: Mapping, source: str) -> Order | None:
    payment_id, fully = refund_from_charge(obj)
    if payment_id is None:
        raise MalformedEvent("charge has no payment_intent")
    if not fully:
        logger.info(
            "partial refund on payment intent %s left as paid source=%s", payment_id, source
        )
        return None
    return fulfilment.order_refund(payment_id=payment_id, source=source)


HANDLERS: dict[str, Callable[[Mapping, str], Order | None]] = {
    "checkout.session.completed": _completed,
    "checkout.session.async_payment_succeeded": _completed,
    "checkout.session.async_payment_failed": _async_failed,
    "checkout.session.expired": _expired,
    "payment_intent.payment_failed": _payment_failed,
    "charge.refunded": _refunded,
}


def payment_event_apply(payload: Mapping) -> Delivery:
    """Record and apply one verified event; a known event id changes nothing."""
    try:
        event = event_from_dict(payload)
    except MalformedEvent as exc:
        logger.warning("webhook event refused: %s", exc)
        return Delivery(400, "malformed event")
    handler = HANDLERS.get(event.type)
    source = fulfilment.Source.provider_event(event.id)
    with transaction.atomic():
        record, created = PaymentEvent.objects.get_or_create(
            provider_event_id=event.id, defaults={"type": event.type, "payload": dict(payload)}
        )
        if not created:
            logger.info("webhook event %s (%s) already handled", event.id, event.type)
            return Delivery(200, "duplicate")
        if handler is None:
            logger.info("webhook event %s of type %s not handled", event.id, event.type)
            return Delivery(200, "ignored")
        try:
            with transaction.atomic():
                order = handler(event.object, source)
        except MalformedEvent as exc:
            # Signed by Stripe but not usable by us: keep the record, tell Stripe we got it.
            logger.warning("webhook event %s (%s) unusable: %s", event.id, event.type, exc)
            return Delivery(200, "unusable")
        if order is not None:
            record.order = order
            record.save(update_fields=["order"])
    return Delivery(200, "ok" if order is not None else "unknown order")


def webhook_deliver(*, body: bytes, signature: str | None) -> Delivery:
    """Verify a raw webhook delivery against our secret, then apply it."""
    from shop.payments.stripe import verify_webhook_event

    try:
        payload = verify_webhook_event(body, signature, webhook_secret())
    except InvalidSignature:
        return Delivery(400, "invalid signature")
    return payment_event_apply(payload)
