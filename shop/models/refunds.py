"""Refunds: money given back on a paid order, recorded before the provider is asked.

A :class:`Refund` is written first (pending), then the gateway is asked with the
idempotency key ``refund-<id>``; its status, and the order's ``amount_refunded``, move only
from what the provider reports (shop/services/refunds.py). A refund made at the provider
(its Dashboard) is recorded from its event, with nobody as ``requested_by``. Operators
refund from an order's page in the admin (Shop → Orders → an order → Refund).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from shop.models.orders import Order, OrderLine
from shop.money import format_money


class Refund(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    class Reason(models.TextChoices):
        # The reasons a payment provider is told; "other" is told none.
        REQUESTED_BY_CUSTOMER = "requested_by_customer", "Requested by the customer"
        DUPLICATE = "duplicate", "Duplicate payment"
        FRAUDULENT = "fraudulent", "Fraudulent payment"
        OTHER = "other", "Other"

    # Null only for a refund made at the provider whose payment is not (yet) one of our
    # paid orders: it is attached when the payment's own event arrives.
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    payment_id = models.CharField(max_length=255, blank=True, db_index=True)
    amount = models.PositiveIntegerField(help_text="In the currency's minor unit.")
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=32, choices=Reason.choices, default=Reason.OTHER)
    note = models.CharField(max_length=500, blank=True, help_text="For operators only.")
    restock = models.BooleanField(default=False, help_text="Put the refunded units back on sale.")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    provider_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty for a refund made at the payment provider.",
    )
    # Made at the provider (its Dashboard) and learnt from its event, not asked by us.
    made_at_provider = models.BooleanField(default=False, editable=False)
    # A form's token: the same submission twice is the same refund.
    request_token = models.UUIDField(unique=True, null=True, blank=True, editable=False)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    restocked_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"refund {self.pk} of {self.amount_display}"

    @property
    def amount_display(self) -> str:
        return format_money(self.amount, self.currency)

    @property
    def status_for_shopper(self) -> str:
        return {self.Status.PENDING: "Processing", self.Status.SUCCEEDED: "Refunded"}.get(
            self.status, self.get_status_display()
        )

    @property
    def idempotency_key(self) -> str:
        return f"refund-{self.pk}"

    @property
    def requested_by_display(self) -> str:
        if self.requested_by is not None:
            return self.requested_by.get_username()
        return "Made at the payment provider" if self.made_at_provider else "—"

    @property
    def lines_text(self) -> str:
        """What it gives back: "Stoneware Mug × 1, Canvas Tote × 2", or "" for an amount."""
        return ", ".join(
            f"{line.order_line.product_name} × {line.quantity}" for line in self.lines.all()
        )


class RefundLine(models.Model):
    """Units of one order line that a refund gives back."""

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="refunded")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.order_line.product_name} × {self.quantity}"
