"""Orders: what a shopper bought, priced and snapshotted at the time of purchase.

Orders are read-only in the Wagtail admin (Shop → Orders). Status only moves along
``ALLOWED_TRANSITIONS``, through :meth:`Order.transition_to`; services own every change.
"""

import re
import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_countries.fields import Country

from shop.models.shipping import estimate_text
from shop.money import format_money

if TYPE_CHECKING:
    from shop.shoppers import Shopper

# The order reference format, "ABCD-EFGH". No 0/O or 1/I: references are read aloud and
# typed from e-mails.
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 8  # characters, without the dash
# Shaped like a reference, in either case (a shopper may type it in lower case): for URL
# routes. What is stored is upper case: see reference_normalise().
REFERENCE_REGEX = r"[A-Za-z0-9]{4}-[A-Za-z0-9]{4}"
REFERENCE_PATTERN = re.compile(REFERENCE_REGEX)


def reference_format(chars: str) -> str:
    """``REFERENCE_LENGTH`` characters of the alphabet as a reference: "ABCD-EFGH"."""
    return f"{chars[:4]}-{chars[4:]}"


def new_reference() -> str:
    return reference_format(
        "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    )


def reference_normalise(raw: str) -> str | None:
    """``raw`` as stored (upper case), or None when it is not shaped like a reference."""
    text = raw.strip().upper() if isinstance(raw, str) else ""
    return text if REFERENCE_PATTERN.fullmatch(text) else None


class InvalidTransition(Exception):
    def __init__(self, order: "Order", new_status: str):
        super().__init__(f"order {order.reference}: {order.status} -> {new_status} is not allowed")


class OrderQuerySet(models.QuerySet):
    """The shopper-facing order reads; the rule of who owns an order lives in ``owned_by``."""

    def owned_by(self, shopper: "Shopper") -> "OrderQuerySet":
        """Exactly ``shopper``'s orders: their account's, or (a guest) their token's; an
        unknown shopper owns none."""
        if shopper.user_id is not None:
            return self.filter(user_id=shopper.user_id)
        if shopper.guest_token:
            return self.filter(user__isnull=True, guest_token=shopper.guest_token)
        return self.none()

    def shown_to_shopper(self) -> "OrderQuerySet":
        """Settled outcomes, pending orders they returned from paying, and any order whose
        payment was declined (it must not vanish like an abandoned checkout)."""
        return self.filter(
            models.Q(status__in=[Order.Status.FAILED, *Order.PAID_STATUSES])
            | models.Q(status=Order.Status.PENDING, awaiting_confirmation_since__isnull=False)
            | models.Q(payment_declined_at__isnull=False)
        )

    def with_lines(self) -> "OrderQuerySet":
        return self.prefetch_related(
            models.Prefetch("lines", queryset=OrderLine.objects.order_by("pk"))
        )

    def by_reference(self, reference: str) -> "OrderQuerySet":
        """The order with ``reference`` as typed (any case); none when it is not one."""
        normalised = reference_normalise(reference)
        return self.filter(reference=normalised) if normalised else self.none()

    def history_of(self, shopper: "Shopper") -> "OrderQuerySet":
        """The shopper's orders worth showing them, newest first (their cards read the lines
        of those not drawn yet: ``shop.order_cards``)."""
        return self.owned_by(shopper).shown_to_shopper().order_by("-created_at", "-pk")


class FulfilmentStatus(models.TextChoices):
    """Whether the goods went out, separate from the payment: unfulfilled → shipped →
    delivered (delivered is optional). Moved only by ``shop.services.shipments``."""

    UNFULFILLED = "unfulfilled", "Not shipped"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"


# The tracking link is shown to shoppers and operators only with one of these schemes.
TRACKING_URL_SCHEMES = ("http", "https")


class Order(models.Model):
    FulfilmentStatus = FulfilmentStatus

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"
        FAILED = "failed", "Payment failed"
        CANCELED = "canceled", "Canceled"
        EXPIRED = "expired", "Expired"
        REFUNDED = "refunded", "Refunded"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"

    # Money the provider confirms always wins: a payment completing after the shopper canceled,
    # after the session expired or after an async failure was reported still makes it paid.
    ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
        Status.PENDING: frozenset({Status.PAID, Status.FAILED, Status.CANCELED, Status.EXPIRED}),
        Status.FAILED: frozenset({Status.PAID}),
        Status.CANCELED: frozenset({Status.PAID}),
        Status.EXPIRED: frozenset({Status.PAID}),
        Status.PAID: frozenset({Status.PARTIALLY_REFUNDED, Status.REFUNDED}),
        Status.PARTIALLY_REFUNDED: frozenset({Status.REFUNDED}),
        Status.REFUNDED: frozenset(),
    }
    # The money was taken: paid, and perhaps given back in part or in full since.
    PAID_STATUSES: tuple[str, ...] = (Status.PAID, Status.PARTIALLY_REFUNDED, Status.REFUNDED)
    # What may still be refunded (shop/services/refunds.py).
    REFUNDABLE_STATUSES: tuple[str, ...] = (Status.PAID, Status.PARTIALLY_REFUNDED)
    # Still paid for: a partly refunded order ships what is left of it.
    SHIPPABLE_STATUSES: tuple[str, ...] = (Status.PAID, Status.PARTIALLY_REFUNDED)

    reference = models.CharField(max_length=9, unique=True, default=new_reference, editable=False)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    currency = models.CharField(max_length=3)
    # What was paid, in the currency's minor unit: the lines, shipping, and the total the
    # provider charged (subtotal + shipping).
    amount_subtotal = models.PositiveIntegerField(default=0, help_text="The lines, in minor units.")
    amount_shipping = models.PositiveIntegerField(default=0, help_text="In minor units.")
    # The promotion code's discount, taken off the subtotal by the provider (shop/promotions.py).
    amount_discount = models.PositiveIntegerField(default=0, help_text="In minor units.")
    promotion_code = models.CharField(max_length=40, blank=True, editable=False)
    promotion = models.ForeignKey(
        "shop.PromotionCode",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
        editable=False,
    )
    # The code's terms when the order was placed (and the provider's coupon key): later
    # edits of the code change nothing here.
    promotion_terms = models.JSONField(default=dict, blank=True, editable=False)
    # The redemption is held until then while the order is pending (like its stock).
    promotion_held_until = models.DateTimeField(null=True, blank=True, editable=False)
    amount_total = models.PositiveIntegerField(help_text="In the currency's minor unit.")
    # The tax the provider reported for the paid session: added on top of the lines and
    # shipping ("exclusive"), or contained in them ("inclusive"). Zero without automatic tax.
    amount_tax = models.PositiveIntegerField(default=0, help_text="In minor units.")
    # How checkout was asked to tax this order (a snapshot of Settings → Store settings, so
    # a retry sends the same): "inclusive", "exclusive", or "" for no automatic tax.
    tax_behavior = models.CharField(max_length=9, blank=True, editable=False)
    # Whether checkout asked the provider for an invoice (a snapshot of Settings → Store
    # settings, so a retry sends the same), and the invoice it made once paid: its id, and
    # the hosted page and PDF its invoice events report (https only).
    invoice_requested = models.BooleanField(default=False, editable=False)
    invoice_id = models.CharField(max_length=255, blank=True, db_index=True, editable=False)
    invoice_hosted_url = models.CharField(max_length=500, blank=True, editable=False)
    invoice_pdf_url = models.CharField(max_length=500, blank=True, editable=False)
    # Given back so far, as the provider's events report it (shop/services/refunds.py).
    amount_refunded = models.PositiveIntegerField(default=0, editable=False)
    checkout_token = models.UUIDField(unique=True, editable=False)
    payment_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    session_expires_at = models.DateTimeField(null=True, blank=True)
    payment_id = models.CharField(max_length=255, blank=True, db_index=True)
    customer_email = models.EmailField(blank=True, db_index=True)
    # The shopper: an account, or (for guests) a random token kept in their browser session.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    guest_token = models.CharField(max_length=64, blank=True, db_index=True)
    # Since when a pending order is "awaiting payment confirmation": the shopper came back
    # from the payment page, or the provider reported an async payment still settling.
    awaiting_confirmation_since = models.DateTimeField(null=True, blank=True)
    # The validated origin (scheme://host[:port]) of the checkout request, for links in
    # e-mails sent later without a request when SITE_URL is not set.
    site_origin = models.CharField(max_length=255, blank=True, editable=False)
    # A sender holds the confirmation until this time; one whose worker died lets it lapse,
    # and reconciliation sends it again. Set only when the e-mail has actually gone out:
    confirmation_claimed_until = models.DateTimeField(null=True, blank=True)
    confirmation_emailed_at = models.DateTimeField(null=True, blank=True)
    # An operator asked for the confirmation again: the one send this request makes claims
    # it by clearing it (shop/tasks.py), so a request is sent once however often it runs.
    confirmation_resend_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The provider declined a payment attempt (card declined, async payment failed). The
    # order may still be paid by a later attempt; until then it reads "Payment declined",
    # never like a checkout the shopper walked away from.
    payment_declined_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(
        max_length=255, blank=True, help_text="What the payment provider said, safe to show."
    )
    # Where it ships and how, as the shopper gave it at checkout (a snapshot: rates and
    # addresses change later). Blank for orders placed before the shop shipped.
    shipping_name = models.CharField(max_length=200, blank=True)
    shipping_phone = models.CharField(max_length=40, blank=True)
    shipping_line1 = models.CharField("address line 1", max_length=200, blank=True)
    shipping_line2 = models.CharField("address line 2", max_length=200, blank=True)
    shipping_city = models.CharField("city", max_length=120, blank=True)
    shipping_postal_code = models.CharField("postal code", max_length=20, blank=True)
    shipping_region = models.CharField("region", max_length=120, blank=True)
    shipping_country = models.CharField("country", max_length=2, blank=True)
    shipping_rate_name = models.CharField("shipping rate", max_length=80, blank=True)
    # The chosen rate's delivery estimate, in business days.
    shipping_min_days = models.PositiveSmallIntegerField(null=True, blank=True)
    shipping_max_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # The shipment (shop/services/shipments.py): one per order, and its e-mail, claimed and
    # marked sent like the confirmation's.
    fulfilment_status = models.CharField(
        max_length=16,
        choices=FulfilmentStatus.choices,
        default=FulfilmentStatus.UNFULFILLED,
        db_index=True,
        editable=False,
    )
    carrier = models.CharField(max_length=80, blank=True, editable=False)
    tracking_number = models.CharField(max_length=100, blank=True, editable=False)
    tracking_url = models.CharField(max_length=500, blank=True, editable=False)
    shipped_at = models.DateTimeField(null=True, blank=True, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True, editable=False)
    shipped_email_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    shipped_emailed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # What checkout offered (shop/shipping.py ShippingOffer): the address's countries and the
    # priced options, so a retry sends the same and later rate edits change nothing here.
    shipping_offered = models.JSONField(default=dict, blank=True, editable=False)
    # The provider reported a payment whose amounts are not what we offered: not marked
    # paid; the operator looks (the timeline says what differed).
    amounts_mismatch = models.BooleanField(default=False, editable=False)
    # Paid while its units were no longer held for it and the stock could not cover them
    # (a session paid after its hold lapsed, stock lowered by an editor): the operator
    # refunds or fulfils it. A paid order is never dropped.
    oversold = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    paid_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        # One permission per admin action, held by the groups in shop/services/staff.py;
        # Editors hold none of them.
        permissions = [
            ("ship_order", "Can ship orders"),
            ("refund_order", "Can refund orders"),
            ("cancel_order", "Can cancel unpaid orders"),
            ("resend_order_email", "Can resend order e-mails"),
            ("note_order", "Can add internal notes to orders"),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="order_user_recent"),
            models.Index(fields=["guest_token", "-created_at"], name="order_guest_recent"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def total_display(self) -> str:
        return format_money(self.amount_total, self.currency)

    @property
    def refunded_display(self) -> str:
        return format_money(self.amount_refunded, self.currency)

    @property
    def subtotal_display(self) -> str:
        return format_money(self.amount_subtotal, self.currency)

    @property
    def discount_display(self) -> str:
        return format_money(self.amount_discount, self.currency)

    @property
    def tax_display(self) -> str:
        return format_money(self.amount_tax, self.currency)

    @property
    def tax_label(self) -> str:
        return "Tax included in the prices" if self.tax_behavior == "inclusive" else "Tax"

    @property
    def tax_included(self) -> bool:
        """The tax is contained in the prices (shown as "includes"), not added to them."""
        return self.tax_behavior == "inclusive"

    @property
    def shipping_amount_display(self) -> str:
        return format_money(self.amount_shipping, self.currency) if self.amount_shipping else "Free"

    @property
    def ships(self) -> bool:
        """Whether checkout recorded where and how it ships (orders before shipping: no)."""
        return bool(self.shipping_rate_name)

    @property
    def shipping_estimate_display(self) -> str:
        return estimate_text(self.shipping_min_days, self.shipping_max_days)

    @property
    def shipping_address_lines(self) -> list[str]:
        """The delivery address as it is written on a parcel, one line each."""
        if not self.shipping_country:
            return []
        country = Country(self.shipping_country).name or self.shipping_country
        town = " ".join(part for part in (self.shipping_postal_code, self.shipping_city) if part)
        lines = [
            self.shipping_name,
            self.shipping_line1,
            self.shipping_line2,
            town,
            self.shipping_region,
            country,
        ]
        return [line for line in lines if line]

    def can_transition_to(self, new_status: str) -> bool:
        return new_status in self.ALLOWED_TRANSITIONS[self.status]

    def transition_to(self, new_status: str) -> str:
        """Move to ``new_status`` (in memory) or raise InvalidTransition; returns the old status.

        Callers hold the row lock and save; this is the one place the rules live.
        """
        if not self.can_transition_to(new_status):
            raise InvalidTransition(self, new_status)
        old, self.status = self.status, new_status
        if new_status == self.Status.PAID:
            self.paid_at = timezone.now()
        return old

    @property
    def has_receipt(self) -> bool:
        """Paid (refunded orders included): the shop prints it a receipt."""
        return self.status in self.PAID_STATUSES

    @property
    def is_declined(self) -> bool:
        """A payment attempt was declined and no payment has succeeded since."""
        return self.payment_declined_at is not None and self.status not in self.PAID_STATUSES

    @property
    def awaits_confirmation(self) -> bool:
        return self.status == self.Status.PENDING and not self.is_declined

    @property
    def status_label(self) -> str:
        """The status in words, for shoppers and the admin alike."""
        if self.is_declined:
            return "Payment declined"
        return self.get_status_display()

    @property
    def tracking_link(self) -> str:
        """The tracking URL when it is safe to link (http or https), else ""."""
        scheme, _, rest = self.tracking_url.partition("://")
        return self.tracking_url if scheme.lower() in TRACKING_URL_SCHEMES and rest else ""

    @property
    def is_shipped(self) -> bool:
        return self.fulfilment_status != FulfilmentStatus.UNFULFILLED

    @property
    def status_for_shopper(self) -> str:
        if self.awaits_confirmation:
            return "Awaiting payment confirmation"
        return self.status_label


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    # Kept as a link while the product exists; the snapshot below is what was sold.
    product = models.ForeignKey(
        "shop.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    product_name = models.CharField(max_length=120)
    unit_amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    quantity = models.PositiveIntegerField()
    # The product's tax code when the order was placed ("" for none).
    tax_code = models.CharField(max_length=13, blank=True, editable=False)
    # The stock hold (shop/stock.py): units of a tracked product held for this order until
    # its payment session can no longer be paid, then released, or sold when it is paid.
    # Zero held units: the product was not tracked when the order was placed.
    held_quantity = models.PositiveIntegerField(default=0, editable=False)
    held_until = models.DateTimeField(null=True, blank=True, editable=False)
    hold_released_at = models.DateTimeField(null=True, blank=True, editable=False)
    sold_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Units of this line refunded and put back on sale (a refund with restock that
    # succeeded): no longer counted as sold.
    returned_quantity = models.PositiveIntegerField(default=0, editable=False)
    # This line's share of the order's discount (shares add up to Order.amount_discount).
    amount_discount = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["pk"]
        indexes = [
            # What a checkout counts under its products' row locks (shop/stock.py): only the
            # lines that hold or sold stock, never the whole order history.
            models.Index(
                fields=["product"],
                condition=models.Q(held_quantity__gt=0),
                include=[
                    "held_quantity",
                    "held_until",
                    "hold_released_at",
                    "sold_at",
                    "returned_quantity",
                ],
                name="orderline_stock_units",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_name} × {self.quantity}"

    @property
    def line_total(self) -> int:
        return self.unit_amount * self.quantity

    @property
    def unit_price_display(self) -> str:
        return format_money(self.unit_amount, self.currency)

    @property
    def line_total_display(self) -> str:
        return format_money(self.line_total, self.currency)
