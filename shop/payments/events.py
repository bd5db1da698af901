"""Reading Stripe's JSON (webhook payloads, API responses) into our typed values.

A validly signed event may still have any shape; everything here checks types and
raises :class:`MalformedEvent` rather than letting a KeyError become a 500.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from shop.payments.base import CheckoutSession


class MalformedEvent(ValueError):
    pass


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    object: Mapping


def _str_or_none(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _int_or_none(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _timestamp(value) -> dt.datetime | None:
    seconds = _int_or_none(value)
    if seconds is None or not 0 <= seconds < 2**37:
        return None
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def _id_of(value) -> str | None:
    """An expandable field: an id string, an expanded object with an id, or nothing."""
    if isinstance(value, Mapping):
        return _str_or_none(value.get("id"))
    return _str_or_none(value)


def _holds_nul(value) -> bool:
    """Whether any string in a JSON value, keys included, holds a NUL character.

    Iterative: a signed payload may be nested as deeply as the JSON parser allowed.
    """
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def event_from_dict(payload) -> Event:
    if not isinstance(payload, Mapping):
        raise MalformedEvent("event is not an object")
    if _holds_nul(payload):
        # PostgreSQL stores NUL in neither text nor jsonb: the event could not be recorded.
        raise MalformedEvent("event contains a NUL character")
    event_id, event_type = payload.get("id"), payload.get("type")
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        raise MalformedEvent("event has no usable id")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 100:
        raise MalformedEvent("event has no usable type")
    if not isinstance(obj, Mapping):
        raise MalformedEvent("event has no data.object")
    return Event(id=event_id, type=event_type, object=obj)


def session_from_dict(obj: Mapping) -> CheckoutSession:
    """A Checkout Session object (from a webhook or the API) as a CheckoutSession."""
    session_id = _str_or_none(obj.get("id"))
    if session_id is None:
        raise MalformedEvent("checkout session has no id")
    details = obj.get("customer_details")
    email = _str_or_none(obj.get("customer_email"))
    if isinstance(details, Mapping):
        email = _str_or_none(details.get("email")) or email
    currency = _str_or_none(obj.get("currency"))
    return CheckoutSession(
        id=session_id,
        url=_str_or_none(obj.get("url")),
        status=_str_or_none(obj.get("status")) or "",
        payment_status=_str_or_none(obj.get("payment_status")) or "",
        amount_total=_int_or_none(obj.get("amount_total")),
        currency=currency.lower() if currency else None,
        client_reference_id=_str_or_none(obj.get("client_reference_id")),
        payment_id=_id_of(obj.get("payment_intent")),
        customer_email=email,
        expires_at=_timestamp(obj.get("expires_at")),
    )


def refund_from_charge(obj: Mapping) -> tuple[str | None, bool]:
    """(payment intent id, fully refunded?) from a Charge object."""
    return _id_of(obj.get("payment_intent")), obj.get("refunded") is True


@dataclass(frozen=True)
class PaymentFailure:
    order_reference: str
    reason: str


DEFAULT_DECLINE_REASON = "Your payment was declined. You have not been charged."


def payment_failure_from_intent(obj: Mapping) -> PaymentFailure:
    """A PaymentIntent from ``payment_intent.payment_failed``: which order, and why.

    The order is named by the metadata our checkout session gives the payment intent.
    """
    metadata = obj.get("metadata")
    reference = (
        _str_or_none(metadata.get("order_reference")) if isinstance(metadata, Mapping) else None
    )
    if reference is None:
        raise MalformedEvent("payment intent names no order")
    error = obj.get("last_payment_error")
    message = _str_or_none(error.get("message")) if isinstance(error, Mapping) else None
    reason = (
        f"{message.rstrip('.')}. You have not been charged." if message else DEFAULT_DECLINE_REASON
    )
    return PaymentFailure(order_reference=reference[:9], reason=reason)
