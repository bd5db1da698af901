"""The order timeline: one entry for every change made to an order, never edited.

Entries are written by the services that make the change, in the same transaction, so a
change rolled back leaves no entry and no change is made without one. The admin shows an
order's whole timeline on its inspect page (Shop → Orders → an order); the shopper's order
page shows the part in :meth:`OrderEventQuerySet.for_shopper`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone

from shop.models.orders import Order

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


class Origin(models.TextChoices):
    """Where a change to an order came from."""

    CHECKOUT = "checkout", "Checkout"
    PROVIDER_EVENT = "provider_event", "Provider event"
    SUCCESS_PAGE = "success_page", "Success page"
    CANCEL_PAGE = "cancel_page", "Cancel page"
    RECONCILIATION = "reconciliation", "Reconciliation"
    ADMIN_USER = "admin_user", "Admin user"
    SYSTEM = "system", "System"


@dataclass(frozen=True)
class Source:
    """Where a change came from, as the services are told it and the timeline records it."""

    origin: Origin
    provider_event_id: str = ""
    user: AbstractBaseUser | None = None

    @classmethod
    def checkout(cls) -> Source:
        return cls(Origin.CHECKOUT)

    @classmethod
    def provider_event(cls, event_id: str) -> Source:
        return cls(Origin.PROVIDER_EVENT, provider_event_id=event_id)

    @classmethod
    def success_page(cls) -> Source:
        return cls(Origin.SUCCESS_PAGE)

    @classmethod
    def cancel_page(cls) -> Source:
        return cls(Origin.CANCEL_PAGE)

    @classmethod
    def reconciliation(cls) -> Source:
        return cls(Origin.RECONCILIATION)

    @classmethod
    def admin_user(cls, user: AbstractBaseUser) -> Source:
        return cls(Origin.ADMIN_USER, user=user)

    @classmethod
    def system(cls) -> Source:
        return cls(Origin.SYSTEM)

    def __str__(self) -> str:
        """For log lines: "success page", "provider event evt_123", "admin user ada"."""
        detail = self.provider_event_id or (self.user.get_username() if self.user else "")
        return f"{self.origin.label.lower()} {detail}".strip()


class OrderEventQuerySet(models.QuerySet):
    def record(self, order: Order, kind: str, source: Source, **details: str) -> OrderEvent:
        """Write one entry (``details`` as :meth:`entry` takes them); the caller is inside the
        transaction that makes the change."""
        entry = self.entry(order, kind, source, **details)
        entry.save(force_insert=True, using=self.db)
        return entry

    def entry(
        self,
        order: Order,
        kind: str,
        source: Source,
        *,
        message: str = "",
        old_status: str = "",
        new_status: str = "",
    ) -> OrderEvent:
        """One entry, not written yet: for a change that writes several with
        :meth:`record_all`. Its time is now, so entries made in turn keep their order."""
        return self.model(
            order=order,
            kind=kind,
            old_status=old_status,
            new_status=new_status,
            origin=source.origin,
            provider_event_id=source.provider_event_id,
            user=source.user,
            message=message[: OrderEvent.MESSAGE_MAX_LENGTH],
        )

    def record_all(self, entries: list[OrderEvent]) -> list[OrderEvent]:
        """Write the entries one change made, in one statement, in the order given."""
        return self.bulk_create(entries) if entries else []

    def for_shopper(self) -> OrderEventQuerySet:
        """The entries a shopper may read about their own order: placed, paid, refunded,
        shipped, delivered."""
        return self.filter(
            models.Q(kind__in=OrderEvent.SHOPPER_KINDS)
            | models.Q(new_status__in=OrderEvent.SHOPPER_STATUSES)
        )


class OrderEvent(models.Model):
    """One thing that happened to an order. Read-only: there is no admin form for it, and
    an entry once written refuses to be saved again."""

    class Kind(models.TextChoices):
        # Refunds and shipments add their kinds here as they arrive.
        PLACED = "placed", "Placed"
        STATUS_CHANGED = "status_changed", "Status changed"
        PAYMENT_RECEIVED = "payment_received", "Payment received"
        PAYMENT_DECLINED = "payment_declined", "Payment declined"
        AWAITING_CONFIRMATION = "awaiting_confirmation", "Awaiting payment confirmation"
        EMAIL_SENT = "email_sent", "E-mail sent"
        NOTE = "note", "Note"
        STOCK_HELD = "stock_held", "Stock held"
        STOCK_RELEASED = "stock_released", "Stock released"
        STOCK_SOLD = "stock_sold", "Stock sold"
        OVERSOLD = "oversold", "Oversold"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        EMAIL_RESEND_REQUESTED = "email_resend_requested", "E-mail resend asked for"
        DISPUTE_OPENED = "dispute_opened", "Dispute opened"
        DISPUTE_UPDATED = "dispute_updated", "Dispute updated"
        DISPUTE_CLOSED = "dispute_closed", "Dispute closed"
        REFUND_REQUESTED = "refund_requested", "Refund requested"
        REFUND_SUCCEEDED = "refund_succeeded", "Refund succeeded"
        REFUND_FAILED = "refund_failed", "Refund failed"
        STOCK_RETURNED = "stock_returned", "Stock returned"
        AMOUNTS_MISMATCH = "amounts_mismatch", "Amounts do not match"
        INVOICE_READY = "invoice_ready", "Invoice ready"

    Origin = Origin
    MESSAGE_MAX_LENGTH = 255
    # Status entries a shopper sees on their order page (besides "placed").
    SHOPPER_STATUSES = Order.PAID_STATUSES
    # Entries shown to the shopper by their kind alone, under the kind's name.
    SHOPPER_KINDS = (Kind.PLACED, Kind.SHIPPED, Kind.DELIVERED)

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # Set on every entry that changed the status (a payment received is one).
    old_status = models.CharField(max_length=20, choices=Order.Status.choices, blank=True)
    new_status = models.CharField(max_length=20, choices=Order.Status.choices, blank=True)
    origin = models.CharField(max_length=32, choices=Origin.choices)
    provider_event_id = models.CharField(max_length=255, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The admin user who made the change.",
    )
    message = models.CharField(max_length=MESSAGE_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = OrderEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["order", "created_at"], name="orderevent_order_time")]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.summary}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("order timeline entries are never changed")
        super().save(*args, **kwargs)

    @property
    def summary(self) -> str:
        """What happened, in words: "Status changed: Pending → Canceled", "E-mail sent"."""
        if not self.new_status:
            return self.get_kind_display()
        new = self.get_new_status_display()
        if not self.old_status:  # entries written before the timeline began
            return f"{self.get_kind_display()}: {new}"
        return f"{self.get_kind_display()}: {self.get_old_status_display()} → {new}"

    @property
    def shopper_label(self) -> str:
        """The entry as the shopper's order page names it: "Placed", "Paid", "Shipped"."""
        if self.kind in self.SHOPPER_KINDS:
            return self.get_kind_display()
        return self.get_new_status_display()

    @property
    def origin_display(self) -> str:
        """From where: "Provider event evt_123", "Admin user ada", "Success page"."""
        if self.provider_event_id:
            return f"{self.get_origin_display()} {self.provider_event_id}"
        if self.user is not None:
            return f"{self.get_origin_display()} {self.user.get_username()}"
        return self.get_origin_display()
