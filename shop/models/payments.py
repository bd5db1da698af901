"""What payment providers told us: one row per provider event, and the local gateway's sessions."""

from django.db import models
from django.utils import timezone

from shop.payments.events import EventKind


class PaymentEvent(models.Model):
    """A webhook event, recorded in the same transaction as its effect.

    The unique event id is what makes a replayed or concurrently delivered event a no-op.
    ``kind``, ``payment_id``, ``full_refund``, ``amount_refunded`` and the ``invoice_*`` fields
    are ours, read from the payload when it was recorded: a refund or an invoice that arrives
    before its payment is found by them.
    """

    provider_event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)  # the provider's own name for it
    kind = models.CharField(max_length=32, choices=EventKind.choices, default=EventKind.UNHANDLED)
    payment_id = models.CharField(max_length=255, blank=True, db_index=True)
    # A refund event saying the whole payment has gone back.
    full_refund = models.BooleanField(default=False)
    # What a refund event says has gone back on the payment so far (cumulative): a refund
    # that arrives before its payment is applied from it once the payment lands.
    amount_refunded = models.PositiveIntegerField(null=True, blank=True)
    # An invoice event's invoice and links (https or empty): one arriving before its order is
    # paid is applied from them once the session naming the invoice lands.
    invoice_id = models.CharField(max_length=255, blank=True, db_index=True)
    invoice_hosted_url = models.CharField(max_length=500, blank=True)
    invoice_pdf_url = models.CharField(max_length=500, blank=True)
    order = models.ForeignKey(
        "shop.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["received_at", "pk"]

    def __str__(self) -> str:
        return f"{self.type} {self.provider_event_id}"


class LocalCheckoutSession(models.Model):
    """A hosted checkout of the local test gateway, shaped like the provider's session."""

    id = models.CharField(max_length=64, primary_key=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
    # Same key with different parameters is refused, as hosted providers do.
    request_fingerprint = models.CharField(max_length=64)
    client_reference_id = models.CharField(max_length=64)
    line_items = models.JSONField()
    amount_total = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, default="open")
    payment_status = models.CharField(max_length=32, default="unpaid")
    payment_id = models.CharField(max_length=64, blank=True)
    customer_email = models.EmailField(blank=True)
    success_url = models.TextField()
    cancel_url = models.TextField()
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    # As the request sent them: {"countries": [...], "options": [{...}], "collect_phone": bool}.
    shipping = models.JSONField(default=dict, blank=True)
    # What the shopper entered on the pay page: the provider's shipping_details shape, the phone,
    # and the position of the option chosen.
    shipping_details = models.JSONField(null=True, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    shipping_option = models.PositiveSmallIntegerField(null=True, blank=True)
    # The discount as the request gave it: {"code", "percent_off", "amount_off"}, or {}.
    discount = models.JSONField(default=dict, blank=True)
    amount_discount = models.PositiveIntegerField(default=0)
    # Automatic tax at the flat test rate: {"behavior": "inclusive"|"exclusive",
    # "rate": "20.00"}; empty when the session was opened without it.
    tax = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return self.id
