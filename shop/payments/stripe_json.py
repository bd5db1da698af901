"""Reading Stripe's JSON (webhook payloads, API responses) into our typed values.

A validly signed event may still have any shape; everything here checks types and
raises :class:`MalformedEvent` rather than letting a KeyError become a 500. An event
whose envelope is fine but whose object we cannot use becomes an
:class:`~shop.payments.events.UnusableEvent`: recorded and acknowledged, as Stripe
would otherwise retry it for days.
"""

import datetime as dt
from collections.abc import Callable, Mapping

from shop.payments import events
from shop.payments.base import CheckoutSession, MalformedEvent, ProviderRefund, ShippingAddress


def _str_or_none(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _int_or_none(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# The largest amount a column of ours holds (a PostgreSQL integer); Stripe's are far below.
MAX_AMOUNT = 2**31 - 1


def _amount_or_none(value) -> int | None:
    amount = _int_or_none(value)
    return amount if amount is not None and 0 <= amount <= MAX_AMOUNT else None


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


class WrongApiVersion(MalformedEvent):
    """The endpoint in Stripe's Dashboard renders events in another API version than ours."""

    def __init__(self, *, received, expected: str):
        super().__init__(f"event API version {received!r}, expected {expected!r}")
        self.received = received
        self.expected = expected


def event_from_payload(payload, *, api_version: str | None = None) -> events.ProviderEvent:
    """A Stripe Event (parsed JSON) as one of our events.

    ``api_version``, when given, is the version the event must have been rendered in:
    any other shape of the objects is refused rather than half-read.
    """
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
    if api_version is not None and payload.get("api_version") != api_version:
        raise WrongApiVersion(received=payload.get("api_version"), expected=api_version)
    envelope = {"id": event_id, "type": event_type, "payload": payload}
    reader = _READERS.get(event_type)
    if reader is None:
        return events.UnhandledEvent(**envelope)
    try:
        return reader(obj, envelope)
    except MalformedEvent as exc:
        return events.UnusableEvent(**envelope, problem=str(exc))


def _session_event(cls: type[events.SessionEvent]) -> Callable:
    return lambda obj, envelope: cls(**envelope, session=session_from_dict(obj))


def _attempt_failed(obj: Mapping, envelope: dict) -> events.PaymentAttemptFailed:
    reference, reason = payment_failure_from_intent(obj)
    return events.PaymentAttemptFailed(**envelope, order_reference=reference, reason=reason)


def _refund_updated(obj: Mapping, envelope: dict) -> events.RefundUpdated:
    payment_id = _id_of(obj.get("payment_intent"))
    if payment_id is None:
        raise MalformedEvent("charge has no payment_intent")
    return events.RefundUpdated(
        **envelope,
        refunded_payment_id=payment_id,
        amount_refunded=_amount_or_none(obj.get("amount_refunded")),
        fully_refunded=obj.get("refunded") is True,
    )


def _dispute_event(phase: str) -> Callable:
    def read(obj: Mapping, envelope: dict) -> events.DisputeUpdated:
        dispute_id = _str_or_none(obj.get("id"))
        payment_id = _id_of(obj.get("payment_intent"))
        amount = _int_or_none(obj.get("amount"))
        currency = _str_or_none(obj.get("currency"))
        status = _str_or_none(obj.get("status"))
        if dispute_id is None or len(dispute_id) > 255:
            raise MalformedEvent("dispute has no usable id")
        if payment_id is None or len(payment_id) > 255:
            raise MalformedEvent("dispute names no payment_intent")
        if amount is None or not 0 <= amount < 2**63 or currency is None or len(currency) != 3:
            raise MalformedEvent("dispute has no usable amount and currency")
        if status is None or len(status) > 64:
            raise MalformedEvent("dispute has no usable status")
        details = obj.get("evidence_details")
        due_by = _timestamp(details.get("due_by")) if isinstance(details, Mapping) else None
        reason = _str_or_none(obj.get("reason")) or ""
        return events.DisputeUpdated(
            **envelope,
            phase=phase,
            dispute_id=dispute_id,
            disputed_payment_id=payment_id,
            amount=amount,
            currency=currency.lower(),
            reason=reason[:64],
            status=status,
            # Stripe sends 0 when the bank allows no response.
            evidence_due_by=due_by if due_by and due_by.timestamp() > 0 else None,
            occurred_at=_timestamp(envelope["payload"].get("created")),
        )

    return read


def _refund_changed(obj: Mapping, envelope: dict) -> events.RefundChanged:
    return events.RefundChanged(**envelope, refund=refund_from_dict(obj))


def _https_or_empty(value) -> str:
    """A URL the provider gave for the shopper to open: kept only when it is https."""
    url = _str_or_none(value)
    if url is None or len(url) > 500 or not url.startswith("https://"):
        return ""
    if any(c.isspace() or ord(c) < 32 for c in url) or "\\" in url:
        return ""
    return url


def _invoice_ready(obj: Mapping, envelope: dict) -> events.InvoiceReady:
    invoice_id = _str_or_none(obj.get("id"))
    if invoice_id is None or len(invoice_id) > 255:
        raise MalformedEvent("invoice has no usable id")
    return events.InvoiceReady(
        **envelope,
        invoice_id=invoice_id,
        hosted_url=_https_or_empty(obj.get("hosted_invoice_url")),
        pdf_url=_https_or_empty(obj.get("invoice_pdf")),
    )


def refund_from_dict(obj: Mapping) -> ProviderRefund:
    """A Refund object (from a webhook or the API) as a ProviderRefund.

    Our own refunds name their record in ``metadata.refund_id``; one made in the
    Dashboard has no such key.
    """
    refund_id, amount = _str_or_none(obj.get("id")), _amount_or_none(obj.get("amount"))
    if refund_id is None or amount is None:
        raise MalformedEvent("refund has no id or amount")
    metadata = obj.get("metadata")
    ours = _str_or_none(metadata.get("refund_id")) if isinstance(metadata, Mapping) else None
    currency = _str_or_none(obj.get("currency"))
    return ProviderRefund(
        id=refund_id[:255],
        amount=amount,
        currency=currency.lower()[:3] if currency else None,
        status=_str_or_none(obj.get("status")) or "pending",
        payment_id=_id_of(obj.get("payment_intent")),
        refund_id=int(ours) if ours and ours.isdigit() and len(ours) < 18 else None,
        reason=_str_or_none(obj.get("reason")),
        failure_reason=_str_or_none(obj.get("failure_reason")),
    )


_READERS: dict[str, Callable[[Mapping, dict], events.ProviderEvent]] = {
    "checkout.session.completed": _session_event(events.SessionCompleted),
    "checkout.session.async_payment_succeeded": _session_event(events.AsyncPaymentSucceeded),
    "checkout.session.async_payment_failed": _session_event(events.AsyncPaymentFailed),
    "checkout.session.expired": _session_event(events.SessionExpired),
    "payment_intent.payment_failed": _attempt_failed,
    "charge.refunded": _refund_updated,
    "charge.dispute.created": _dispute_event(events.DisputeUpdated.Phase.OPENED),
    "charge.dispute.updated": _dispute_event(events.DisputeUpdated.Phase.UPDATED),
    "charge.dispute.closed": _dispute_event(events.DisputeUpdated.Phase.CLOSED),
    # A charge of our API version no longer embeds its refunds: each refund has its own.
    "refund.created": _refund_changed,
    "refund.updated": _refund_changed,
    "refund.failed": _refund_changed,
    # The invoice of a session with invoice_creation: final (finalized), then paid.
    "invoice.finalized": _invoice_ready,
    "invoice.paid": _invoice_ready,
}


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
    amount_shipping, option_index = _shipping_choice(obj)
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
        amount_subtotal=_int_or_none(obj.get("amount_subtotal")),
        amount_shipping=amount_shipping,
        shipping_option_index=option_index,
        shipping_address=_shipping_address(obj),
        amount_discount=_discount_of(obj),
        amount_tax=_amount_tax(obj),
        invoice_id=_id_of(obj.get("invoice")),
    )


def _discount_of(obj: Mapping) -> int:
    totals = _mapping_or_none(obj, "total_details", "session.")
    return (_amount_or_none(totals.get("amount_discount")) or 0) if totals else 0


def _amount_tax(obj: Mapping) -> int | None:
    """total_details.amount_tax: the tax Stripe calculated (inside the amounts with
    inclusive prices, added to the total with exclusive ones)."""
    totals = _mapping_or_none(obj, "total_details", "session.")
    return _int_or_none(totals.get("amount_tax")) if totals else None


def _mapping_or_none(obj: Mapping, key: str, where: str) -> Mapping | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise MalformedEvent(f"{where}{key} is not an object")
    return value


def _shipping_choice(obj: Mapping) -> tuple[int | None, int | None]:
    """(shipping amount, position of the chosen option in ``shipping_options``).

    The session lists its options in the order we sent them; the chosen one is named by
    its shipping rate id in ``shipping_cost``.
    """
    cost = _mapping_or_none(obj, "shipping_cost", "session.")
    totals = _mapping_or_none(obj, "total_details", "session.")
    # The rate's own amount: amount_total would include the tax on shipping (exclusive tax).
    amount = None
    if cost:
        amount = _int_or_none(cost.get("amount_subtotal"))
        if amount is None:
            amount = _int_or_none(cost.get("amount_total"))
    if amount is None and totals is not None:
        amount = _int_or_none(totals.get("amount_shipping"))
    chosen = _id_of(cost.get("shipping_rate")) if cost else None
    options = obj.get("shipping_options")
    if options is None or chosen is None:
        return amount, None
    if not isinstance(options, list):
        raise MalformedEvent("session.shipping_options is not a list")
    for index, option in enumerate(options):
        if not isinstance(option, Mapping):
            raise MalformedEvent("session.shipping_options holds a non-object")
        if _id_of(option.get("shipping_rate")) == chosen:
            return amount, index
    return amount, None


def _shipping_address(obj: Mapping) -> ShippingAddress | None:
    """Where API 2026-10-28 puts it: collected_information.shipping_details; the phone is
    in customer_details."""
    collected = _mapping_or_none(obj, "collected_information", "session.")
    details = (
        _mapping_or_none(collected, "shipping_details", "collected_information.")
        if collected
        else None
    )
    if details is None:
        return None
    address = _mapping_or_none(details, "address", "shipping_details.")
    if address is None:
        raise MalformedEvent("shipping_details has no address")
    customer = _mapping_or_none(obj, "customer_details", "session.")
    country = _str_or_none(address.get("country")) or ""
    return ShippingAddress(
        name=_str_or_none(details.get("name")) or "",
        line1=_str_or_none(address.get("line1")) or "",
        line2=_str_or_none(address.get("line2")) or "",
        city=_str_or_none(address.get("city")) or "",
        postal_code=_str_or_none(address.get("postal_code")) or "",
        region=_str_or_none(address.get("state")) or "",
        country=country.upper(),
        phone=(_str_or_none(customer.get("phone")) if customer else None) or "",
    )


DEFAULT_DECLINE_REASON = "Your payment was declined. You have not been charged."


def payment_failure_from_intent(obj: Mapping) -> tuple[str, str]:
    """(order reference, shopper-safe reason) from ``payment_intent.payment_failed``.

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
    return reference[:9], reason
