"""Our own webhook events: what a payment provider told us, in the shop's words.

A gateway's ``parse_event`` verifies a delivery and returns one of these; the webhook
service dispatches on the class and never reads the provider's JSON. Every event keeps
the provider's id, its type string and the raw payload for the ``PaymentEvent`` record.

Disputes are :class:`DisputeUpdated`, beside :class:`RefundUpdated`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from django.db import models

from shop.payments.base import CheckoutSession, ProviderRefund


class EventKind(models.TextChoices):
    """What an event means to us, stored beside the provider's own type string."""

    SESSION_COMPLETED = "session_completed", "Checkout completed"
    ASYNC_PAYMENT_SUCCEEDED = "async_payment_succeeded", "Delayed payment succeeded"
    ASYNC_PAYMENT_FAILED = "async_payment_failed", "Delayed payment failed"
    SESSION_EXPIRED = "session_expired", "Checkout expired"
    PAYMENT_ATTEMPT_FAILED = "payment_attempt_failed", "Payment attempt declined"
    REFUND_UPDATED = "refund_updated", "Refund updated"
    DISPUTE_UPDATED = "dispute_updated", "Dispute opened, updated or closed"
    REFUND_CHANGED = "refund_changed", "Refund created or changed"
    INVOICE_READY = "invoice_ready", "Invoice finalized or paid"
    UNUSABLE = "unusable", "Not usable"
    UNHANDLED = "unhandled", "Not handled"


@dataclass(frozen=True, kw_only=True)
class ProviderEvent:
    """One verified delivery. ``id`` is unique per event at the provider."""

    kind: ClassVar[EventKind] = EventKind.UNHANDLED

    id: str
    type: str  # the provider's own name for it, as recorded
    payload: Mapping

    @property
    def payment_id(self) -> str | None:
        """The provider's payment this event is about, when it names one."""
        return None


@dataclass(frozen=True, kw_only=True)
class UnhandledEvent(ProviderEvent):
    """A type we do not use: recorded, answered, and otherwise ignored."""


@dataclass(frozen=True, kw_only=True)
class UnusableEvent(ProviderEvent):
    """A type we use whose object we cannot read: recorded, acknowledged, not applied."""

    kind: ClassVar[EventKind] = EventKind.UNUSABLE

    problem: str


@dataclass(frozen=True, kw_only=True)
class SessionEvent(ProviderEvent):
    session: CheckoutSession

    @property
    def payment_id(self) -> str | None:
        return self.session.payment_id


@dataclass(frozen=True, kw_only=True)
class SessionCompleted(SessionEvent):
    """The shopper finished checkout; paid now, or (bank debits, vouchers) later."""

    kind: ClassVar[EventKind] = EventKind.SESSION_COMPLETED


@dataclass(frozen=True, kw_only=True)
class AsyncPaymentSucceeded(SessionEvent):
    kind: ClassVar[EventKind] = EventKind.ASYNC_PAYMENT_SUCCEEDED


@dataclass(frozen=True, kw_only=True)
class AsyncPaymentFailed(SessionEvent):
    kind: ClassVar[EventKind] = EventKind.ASYNC_PAYMENT_FAILED


@dataclass(frozen=True, kw_only=True)
class SessionExpired(SessionEvent):
    kind: ClassVar[EventKind] = EventKind.SESSION_EXPIRED


@dataclass(frozen=True, kw_only=True)
class PaymentAttemptFailed(ProviderEvent):
    """A declined attempt at checkout; the session stays open for another try."""

    kind: ClassVar[EventKind] = EventKind.PAYMENT_ATTEMPT_FAILED

    order_reference: str
    reason: str  # safe to show the shopper


@dataclass(frozen=True, kw_only=True)
class RefundUpdated(ProviderEvent):
    """Money went back on a payment: how much so far (cumulative), and whether all of it."""

    kind: ClassVar[EventKind] = EventKind.REFUND_UPDATED

    refunded_payment_id: str
    amount_refunded: int | None
    fully_refunded: bool

    @property
    def payment_id(self) -> str | None:
        return self.refunded_payment_id


@dataclass(frozen=True, kw_only=True)
class DisputeUpdated(ProviderEvent):
    """A shopper's bank disputes a payment: opened, updated (evidence, status) or closed.

    ``status`` and ``reason`` are the provider's words (``needs_response``, ``won``,
    ``fraudulent``); ``occurred_at`` is when the provider says it happened, so an older
    event delivered late never overwrites a newer one.
    """

    kind: ClassVar[EventKind] = EventKind.DISPUTE_UPDATED

    class Phase:
        OPENED = "opened"
        UPDATED = "updated"
        CLOSED = "closed"

    phase: str
    dispute_id: str
    disputed_payment_id: str
    amount: int
    currency: str
    reason: str
    status: str
    evidence_due_by: dt.datetime | None
    occurred_at: dt.datetime | None

    @property
    def payment_id(self) -> str | None:
        return self.disputed_payment_id


@dataclass(frozen=True, kw_only=True)
class RefundChanged(ProviderEvent):
    """One refund was created or changed at the provider (ours, or made in its Dashboard)."""

    kind: ClassVar[EventKind] = EventKind.REFUND_CHANGED

    refund: ProviderRefund

    @property
    def payment_id(self) -> str | None:
        return self.refund.payment_id


@dataclass(frozen=True, kw_only=True)
class InvoiceReady(ProviderEvent):
    """The provider's invoice for a paid order is final: where the shopper can see it.

    The URLs are https or empty. An event arriving before its order is paid (the invoice id
    not known yet) is recorded and applied once the order is paid.
    """

    kind: ClassVar[EventKind] = EventKind.INVOICE_READY

    invoice_id: str
    hosted_url: str
    pdf_url: str
