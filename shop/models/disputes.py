"""Disputes (chargebacks): a shopper's bank contests a payment. Read from the provider's
events (shop/services/disputes.py), shown on the order's inspect page and counted on the
dashboard; there is no admin form for them.

A dispute whose event arrives before its payment's (or for a payment we do not know) is
kept with its payment id and no order, and joins its order once that order is paid.
"""

from django.db import models
from django.utils import timezone


class DisputeQuerySet(models.QuerySet):
    def open(self) -> "DisputeQuerySet":
        """Disputes still to be decided (evidence may be due)."""
        return self.exclude(status__in=Dispute.CLOSED_STATUSES)


class Dispute(models.Model):
    # The provider's dispute statuses that end a dispute (won, lost, or closed without a
    # chargeback); every other status is open.
    CLOSED_STATUSES = ("won", "lost", "prevented", "warning_closed")

    provider_dispute_id = models.CharField(max_length=255, unique=True)
    order = models.ForeignKey(
        "shop.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="disputes"
    )
    payment_id = models.CharField(max_length=255, db_index=True)
    amount = models.PositiveBigIntegerField(help_text="Disputed, in the currency's minor unit.")
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=64)
    evidence_due_by = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    # When the provider said what ``status`` holds: an older event never overwrites it.
    status_reported_at = models.DateTimeField(default=timezone.now)
    last_provider_event_id = models.CharField(max_length=255, blank=True)
    # The store's support address was told about it (once per dispute).
    notice_sent_at = models.DateTimeField(null=True, blank=True)

    objects = DisputeQuerySet.as_manager()

    class Meta:
        ordering = ["opened_at", "pk"]

    def __str__(self) -> str:
        return self.provider_dispute_id

    @property
    def is_open(self) -> bool:
        return self.status not in self.CLOSED_STATUSES

    @property
    def status_display(self) -> str:
        """ "needs_response" → "Needs response"."""
        return self.status.replace("_", " ").capitalize()

    @property
    def reason_display(self) -> str:
        return self.reason.replace("_", " ").capitalize() if self.reason else "—"
