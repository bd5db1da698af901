"""The gateway boundary: typed values in and out, and our own error tree.

Nothing outside ``shop/payments`` knows which payment provider is in use.
Gateways take a :class:`CheckoutRequest` and answer with
:class:`CheckoutSession`; every provider failure becomes a
:class:`PaymentError` whose ``user_message`` is safe to show a shopper.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:
    from shop.payments.events import ProviderEvent


@dataclass(frozen=True)
class CheckoutLine:
    name: str
    unit_amount: int  # minor units
    currency: str
    quantity: int
    tax_code: str = ""  # Stripe's product tax code; "" for the account's default


@dataclass(frozen=True)
class ShippingOption:
    """One delivery choice offered at checkout, priced by our server for this order."""

    name: str
    amount: int  # minor units; 0 when free
    min_days: int  # business days
    max_days: int
    countries: tuple[str, ...]  # ISO 3166-1 alpha-2 codes it delivers to
    key: str = ""  # ours, named in the provider's metadata


@dataclass(frozen=True)
class Discount:
    """A promotion code's discount for one checkout: exactly one of ``percent_off`` and
    ``amount_off`` (minor units of the checkout's currency), taken off the lines once."""

    code: str
    percent_off: int | None
    amount_off: int | None
    # Derived from the code, its revision and its terms: one coupon per version of a code.
    idempotency_key: str


@dataclass(frozen=True)
class ShippingAddress:
    """Where the shopper asked the order to be delivered, as the provider collected it."""

    name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    region: str
    country: str  # ISO 3166-1 alpha-2, upper case
    phone: str = ""


@dataclass(frozen=True)
class CheckoutRequest:
    """Everything a gateway needs to open a hosted checkout for one order."""

    order_reference: str
    checkout_token: str
    lines: tuple[CheckoutLine, ...]
    currency: str
    amount_total: int
    success_url: str  # contains the literal "{CHECKOUT_SESSION_ID}"
    cancel_url: str
    expires_at: dt.datetime
    customer_email: str | None = None
    # The address is collected for these countries, and the shopper picks one of the options
    # (in this order). Empty: nothing is shipped (orders placed before the shop shipped).
    shipping_countries: tuple[str, ...] = ()
    shipping_options: tuple[ShippingOption, ...] = ()
    collect_phone: bool = False
    discount: Discount | None = None
    # Automatic tax: "exclusive" (added on top of the prices), "inclusive" (contained in
    # them), or "" for none.
    tax_behavior: str = ""
    # Ask the provider to make (and e-mail) an invoice once the session is paid.
    invoice: bool = False

    @property
    def idempotency_key(self) -> str:
        # One checkout token -> one session, however often it is retried.
        return f"checkout-{self.checkout_token}"


@dataclass(frozen=True)
class CheckoutSession:
    """A gateway's view of one hosted checkout, as Stripe reports it."""

    id: str
    url: str | None
    status: str  # "open" | "complete" | "expired"
    payment_status: str  # "paid" | "unpaid" | "no_payment_required"
    amount_total: int | None
    currency: str | None
    client_reference_id: str | None = None
    payment_id: str | None = None
    customer_email: str | None = None
    expires_at: dt.datetime | None = None
    amount_subtotal: int | None = None
    amount_shipping: int | None = None
    # Which of the request's shipping_options the shopper chose (its position), if any.
    shipping_option_index: int | None = None
    shipping_address: ShippingAddress | None = None
    # What the provider took off for the session's discounts (total_details.amount_discount).
    amount_discount: int = 0
    # The tax the provider calculated (total_details.amount_tax); None when not reported.
    amount_tax: int | None = None
    # The provider's invoice for the paid session (invoice_creation), if it made one.
    invoice_id: str | None = None

    @property
    def is_paid(self) -> bool:
        return self.status == "complete" and self.payment_status in ("paid", "no_payment_required")

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def is_expired(self) -> bool:
        return self.status == "expired"


@dataclass(frozen=True)
class RefundRequest:
    """Give back ``amount`` of one payment; ``refund_id`` is our Refund record's id."""

    refund_id: int
    order_reference: str
    payment_id: str
    amount: int  # minor units
    currency: str
    reason: str | None = None  # requested_by_customer | duplicate | fraudulent, or none

    @property
    def idempotency_key(self) -> str:
        # One refund record -> one refund at the provider, however often it is retried.
        return f"refund-{self.refund_id}"


@dataclass(frozen=True)
class ProviderRefund:
    """A gateway's view of one refund."""

    id: str
    amount: int
    currency: str | None
    status: str  # "pending" | "succeeded" | "failed" | "canceled" (or "requires_action")
    payment_id: str | None
    refund_id: int | None = None  # ours, from the metadata we sent; None when made elsewhere
    reason: str | None = None
    failure_reason: str | None = None  # the provider's code, e.g. "expired_or_canceled_card"


class PaymentError(Exception):
    """Base of every failure at the gateway boundary."""

    user_message = "Something went wrong with the payment service. You have not been charged."

    def __init__(self, detail: str = "", *, user_message: str | None = None):
        super().__init__(detail or self.user_message)
        if user_message is not None:
            self.user_message = user_message


class GatewayUnavailable(PaymentError):
    """Network error, timeout, 5xx, rate limit or idempotency conflict: try again later."""

    user_message = (
        "The payment service is unavailable right now; you have not been charged. Please try again."
    )


class GatewayMisconfigured(GatewayUnavailable):
    """Our credentials or settings are wrong; shoppers see 'unavailable', operators see this."""


class PaymentDeclined(PaymentError):
    user_message = "Your payment was declined. You have not been charged."


class RefundRefused(PaymentError):
    """The provider refused to make the refund (already refunded, disputed, too much)."""

    user_message = "The payment provider refused the refund."


class SessionNotFound(PaymentError):
    user_message = "We could not find that checkout."


class InvalidSignature(PaymentError):
    """A webhook whose signature does not verify against our secret."""

    user_message = "Invalid signature."


class MalformedEvent(ValueError):
    """A validly signed event we cannot read: wrong shape, wrong API version, unstorable."""


class PaymentGateway(Protocol):
    # Shown to editors and shoppers: who takes the payment.
    display_name: ClassVar[str]
    # Where the hosted payment page lives, for the Content-Security-Policy; None if ours.
    checkout_origin: ClassVar[str | None]

    def create_session(self, request: CheckoutRequest) -> CheckoutSession: ...

    def retrieve_session(self, session_id: str) -> CheckoutSession: ...

    def expire_session(self, session_id: str) -> CheckoutSession: ...

    def create_refund(self, request: RefundRequest) -> ProviderRefund:
        """Ask for a refund; the same request again answers with the same refund."""
        ...

    def retrieve_refund(self, refund_id: str) -> ProviderRefund: ...

    def parse_event(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        """Verify a webhook delivery and read it; raises InvalidSignature or MalformedEvent."""
        ...

    @staticmethod
    def is_session_id(value: str) -> bool:
        """Whether ``value`` can be one of this provider's session ids (checked before use)."""
        ...
