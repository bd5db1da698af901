"""Stripe Checkout behind the gateway interface of :mod:`shop.payments.base`.

This is the only module that imports ``stripe``. It speaks to Stripe through
stripe-python's ``StripeClient`` and hands back our own dataclasses; every SDK
exception is translated into a :class:`~shop.payments.base.PaymentError`
subclass before it leaves this module.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
from collections.abc import Mapping
from typing import Any, NoReturn

import stripe
from django.core.exceptions import ImproperlyConfigured

from shop.payments import require
from shop.payments.base import (
    CheckoutLine,
    CheckoutRequest,
    CheckoutSession,
    GatewayMisconfigured,
    GatewayUnavailable,
    InvalidSignature,
    PaymentDeclined,
    PaymentError,
    ProviderRefund,
    RefundRefused,
    RefundRequest,
    SessionNotFound,
    ShippingOption,
)
from shop.payments.events import ProviderEvent
from shop.payments.stripe_json import (
    WrongApiVersion,
    event_from_payload,
    refund_from_dict,
    session_from_dict,
)

logger = logging.getLogger(__name__)

# The API version every request is made in and every webhook event must be rendered in:
# the one stripe-python 16.1 is typed for. The Dashboard's webhook endpoint must use it.
STRIPE_API_VERSION = "2026-10-28.endive"
WEBHOOK_TOLERANCE_SECONDS = 300
SIGNATURE_HEADER = "Stripe-Signature"
CHECKOUT_ORIGIN = "https://checkout.stripe.com"
DASHBOARD = "https://dashboard.stripe.com"
SESSION_ID_PATTERN = re.compile(r"^cs_[A-Za-z0-9_]{1,200}$")


class StripeGateway:
    """A :class:`~shop.payments.base.PaymentGateway` backed by Stripe Checkout.

    ``api_base`` points the SDK at a Stripe-compatible server (stripe-mock, the
    test suite's fake); ``timeout`` bounds each HTTP attempt and
    ``max_network_retries`` is how many times the SDK retries a connection
    error, timeout, 409 or 5xx, always with the same idempotency key.
    """

    display_name = "Stripe"
    checkout_origin = CHECKOUT_ORIGIN

    def __init__(
        self,
        *,
        secret_key: str,
        webhook_secret: str = "",
        api_base: str | None = None,
        timeout: float = 10.0,
        max_network_retries: int = 2,
    ) -> None:
        try:
            require("STRIPE_SECRET_KEY", secret_key)
        except ImproperlyConfigured as exc:
            raise GatewayMisconfigured(str(exc)) from None
        self._webhook_secret = webhook_secret
        self._client = stripe.StripeClient(
            secret_key,
            stripe_version=STRIPE_API_VERSION,
            # The SDK glues the path straight onto the base, so a trailing
            # slash would produce "//v1/...".
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            max_network_retries=max_network_retries,
            # The SDK's default HTTP client waits 80 s; a shopper should not.
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    def create_session(self, request: CheckoutRequest) -> CheckoutSession:
        """Open a hosted Checkout Session for one order.

        Retries with the same request (same checkout token, same parameters)
        get the same session back: Stripe replays the first answer for the
        idempotency key.
        """
        params = _session_create_params(request)
        if request.discount is not None:
            params["discounts"] = [{"coupon": self._coupon_for(request)}]
        try:
            session = self._client.v1.checkout.sessions.create(
                params=params,
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as exc:
            _raise_translated(exc, action=f"create a session for order {request.order_reference}")
        return session_from_dict(session.to_dict())

    def _coupon_for(self, request: CheckoutRequest) -> str:
        """The id of a once-only coupon for the request's promotion code. Its idempotency key
        names the code's version, so a retry gets the same coupon and an edit a new one."""
        discount = request.discount
        params: dict[str, Any] = {
            "duration": "once",
            "name": discount.code,
            "metadata": {"promotion_code": discount.code},
        }
        if discount.percent_off is not None:
            params["percent_off"] = discount.percent_off
        else:
            params["amount_off"] = discount.amount_off
            params["currency"] = request.currency.lower()
        try:
            coupon = self._client.v1.coupons.create(
                params=params, options={"idempotency_key": discount.idempotency_key}
            )
        except stripe.StripeError as exc:
            _raise_translated(
                exc, action=f"create coupon {discount.code} for order {request.order_reference}"
            )
        return coupon.id

    def retrieve_session(self, session_id: str) -> CheckoutSession:
        """Fetch a session's current state from Stripe."""
        if not session_id:
            # An empty id would turn the request into a list call.
            raise SessionNotFound("empty session id")
        try:
            session = self._client.v1.checkout.sessions.retrieve(session_id)
        except stripe.StripeError as exc:
            _raise_translated(exc, action=f"retrieve session {session_id}", session_id=session_id)
        return session_from_dict(session.to_dict())

    def expire_session(self, session_id: str) -> CheckoutSession:
        """Expire an open session, and return the session as it stands afterwards.

        Stripe refuses to expire a session that is no longer open. That is
        not an error for us: the shopper may have paid a moment ago, so the
        session is fetched and returned as it is (expired, or complete and
        paid); callers must look at the result rather than assume it expired.
        """
        if not session_id:
            raise SessionNotFound("empty session id")
        try:
            session = self._client.v1.checkout.sessions.expire(session_id)
        except stripe.InvalidRequestError as exc:
            if _is_missing(exc):
                _raise_translated(exc, action=f"expire session {session_id}", session_id=session_id)
            current = self.retrieve_session(session_id)
            if current.is_open:
                _raise_translated(exc, action=f"expire session {session_id}", session_id=session_id)
            return current
        except stripe.StripeError as exc:
            _raise_translated(exc, action=f"expire session {session_id}", session_id=session_id)
        return session_from_dict(session.to_dict())

    def create_refund(self, request: RefundRequest) -> ProviderRefund:
        """Refund part or all of a payment; a retry with the same record gets the same refund.

        Stripe's refusal (an invalid request: more than is left, a disputed charge) is
        :class:`RefundRefused`; a network error or 5xx stays :class:`GatewayUnavailable`.
        """
        params: dict[str, Any] = {
            "payment_intent": request.payment_id,
            "amount": request.amount,
            "metadata": {
                "refund_id": str(request.refund_id),
                "order_reference": request.order_reference,
            },
        }
        if request.reason:
            params["reason"] = request.reason
        action = f"refund order {request.order_reference} (refund {request.refund_id})"
        try:
            refund = self._client.v1.refunds.create(
                params=params, options={"idempotency_key": request.idempotency_key}
            )
        except stripe.InvalidRequestError as exc:
            logger.warning("Stripe refused to %s: %s", action, exc.user_message)
            raise RefundRefused(
                f"could not {action}: {exc.user_message}",
                user_message=f"The payment provider refused the refund: {exc.user_message}",
            ) from exc
        except stripe.StripeError as exc:
            _raise_translated(exc, action=action)
        return refund_from_dict(refund.to_dict())

    def retrieve_refund(self, refund_id: str) -> ProviderRefund:
        try:
            refund = self._client.v1.refunds.retrieve(refund_id)
        except stripe.StripeError as exc:
            _raise_translated(exc, action=f"retrieve refund {refund_id}")
        return refund_from_dict(refund.to_dict())

    def parse_event(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        """Verify a webhook delivery with the SDK, then read it into one of our events."""
        require("STRIPE_WEBHOOK_SECRET", self._webhook_secret)
        return parse_signed_event(body, headers, self._webhook_secret)

    @staticmethod
    def is_session_id(value: str) -> bool:
        return bool(SESSION_ID_PATTERN.match(value))


def parse_signed_event(body: bytes, headers: Mapping[str, str], secret: str) -> ProviderEvent:
    """A Stripe-signed, Stripe-shaped delivery as one of our events.

    An event rendered in another API version than :data:`STRIPE_API_VERSION` is refused
    (400, so Stripe retries it) and logged as an error naming both: the endpoint in the
    Dashboard is set to the wrong version, and reconciliation settles orders meanwhile.
    """
    payload = verify_webhook_event(body, headers.get(SIGNATURE_HEADER), secret)
    try:
        return event_from_payload(payload, api_version=STRIPE_API_VERSION)
    except WrongApiVersion as exc:
        logger.error(
            "webhook event %s refused: rendered in Stripe API version %r, we use %r; "
            "set the webhook endpoint's API version in the Stripe Dashboard",
            payload.get("id"),
            exc.received,
            exc.expected,
        )
        raise


def dashboard_payment_url(payment_id: str | None, session_id: str | None) -> str | None:
    """The Dashboard page of a payment, in the account mode its session was opened in.

    None for ids Stripe did not issue (the local gateway's) and without a payment.
    """
    return _dashboard_url("payments", payment_id, session_id)


def dashboard_dispute_url(dispute_id: str | None, session_id: str | None) -> str | None:
    """The Dashboard page of a dispute, in its payment's account mode (as for payments)."""
    return _dashboard_url("disputes", dispute_id, session_id)


def _dashboard_url(section: str, object_id: str | None, session_id: str | None) -> str | None:
    session_id = session_id or ""
    if not object_id:
        return None
    if session_id.startswith("cs_test_"):
        return f"{DASHBOARD}/test/{section}/{object_id}"
    if session_id.startswith("cs_live_"):
        return f"{DASHBOARD}/{section}/{object_id}"
    return None


def verify_webhook_event(
    payload: bytes,
    signature_header: str | None,
    secret: str,
    *,
    tolerance: int = WEBHOOK_TOLERANCE_SECONDS,
) -> dict[str, Any]:
    """Verify a webhook's ``Stripe-Signature`` against the raw body; return the event.

    The event comes back as plain JSON data (dicts, lists, strings, numbers).
    A missing, malformed, stale or wrong signature, and a body that is not a
    JSON object, all raise :class:`InvalidSignature`; nothing else escapes.
    """
    if not secret:
        # Otherwise our own misconfiguration would pass for a stream of forged webhooks.
        logger.error("Stripe webhook secret is not configured; rejecting webhook")
    try:
        stripe.Webhook.construct_event(payload, signature_header, secret, tolerance)
        # The SDK's Event is not a dict; the verified body already is the plain data we want.
        event = _strict_json(payload)
    except stripe.SignatureVerificationError as exc:
        raise InvalidSignature(exc.user_message or "signature verification failed") from None
    except (ValueError, AttributeError, RecursionError):
        # ValueError: not UTF-8 or not JSON. AttributeError: stripe 16.1 calls
        # .get() on whatever the JSON decoded to, so an array or scalar body
        # fails that way. RecursionError: nested deeper than json.loads can go.
        raise InvalidSignature("webhook body is not a JSON object") from None
    if not isinstance(event, dict):
        raise InvalidSignature("webhook body is not a JSON object")
    return event


def _strict_json(payload: bytes) -> Any:
    """JSON as RFC 8259 has it: Python also reads NaN, Infinity and 1e999 (a float's
    infinity), which no JSON column stores, so the event could not be recorded."""
    return json.loads(payload, parse_constant=_not_json, parse_float=_finite_float)


def _not_json(constant: str) -> NoReturn:
    raise ValueError(f"{constant} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} does not fit in a float")
    return value


def _session_create_params(request: CheckoutRequest) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {"price_data": _price_data(line, request.tax_behavior), "quantity": line.quantity}
            for line in request.lines
        ],
        "client_reference_id": request.order_reference,
        "metadata": {
            "order_reference": request.order_reference,
            "checkout_token": request.checkout_token,
        },
        # Names the order on the payment intent's events too (payment_intent.payment_failed).
        "payment_intent_data": {"metadata": {"order_reference": request.order_reference}},
        "expires_at": _unix_seconds(request.expires_at),
        "success_url": request.success_url,
        "cancel_url": request.cancel_url,
    }
    if request.customer_email:
        params["customer_email"] = request.customer_email
    if request.tax_behavior:
        # Stripe Tax works out the rate from the address; it must be set up in the Dashboard.
        params["automatic_tax"] = {"enabled": True}
    if request.invoice:
        # A payment-mode session makes a paid invoice once completed; Stripe e-mails it.
        params["invoice_creation"] = {"enabled": True}
    if request.shipping_options:
        params["shipping_address_collection"] = {
            "allowed_countries": list(request.shipping_countries)
        }
        params["shipping_options"] = [
            {"shipping_rate_data": _shipping_rate_data(option, request)}
            for option in request.shipping_options
        ]
        params["phone_number_collection"] = {"enabled": request.collect_phone}
    return params


def _price_data(line: CheckoutLine, tax_behavior: str) -> dict[str, Any]:
    product: dict[str, Any] = {"name": line.name}
    data: dict[str, Any] = {
        "currency": line.currency.lower(),
        "unit_amount": line.unit_amount,
        "product_data": product,
    }
    if tax_behavior:
        data["tax_behavior"] = tax_behavior
        if line.tax_code:
            product["tax_code"] = line.tax_code
    return data


def _shipping_rate_data(option: ShippingOption, request: CheckoutRequest) -> dict[str, Any]:
    data = {
        "type": "fixed_amount",
        "fixed_amount": {"amount": option.amount, "currency": request.currency.lower()},
        "display_name": option.name,
        "delivery_estimate": {
            "minimum": {"unit": "business_day", "value": option.min_days},
            "maximum": {"unit": "business_day", "value": option.max_days},
        },
        "metadata": {"shipping_option": option.key},
    }
    if request.tax_behavior:
        data["tax_behavior"] = request.tax_behavior
    return data


def _unix_seconds(moment: dt.datetime) -> int:
    # The SDK would read a naive datetime as local time; ours are UTC.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())


def _is_missing(exc: stripe.StripeError) -> bool:
    return exc.code == "resource_missing" or exc.http_status == 404


def _raise_translated(
    exc: stripe.StripeError, *, action: str, session_id: str | None = None
) -> NoReturn:
    """Re-raise an SDK error as ours, logged once at the level it deserves."""
    status = exc.http_status
    request_id = exc.request_id

    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        # Stripe's message echoes part of the key, so it stays out of logs and
        # out of the exception chain.
        logger.error(
            "Stripe rejected our API key (HTTP %s, request %s) trying to %s; "
            "check STRIPE_SECRET_KEY and its permissions",
            status,
            request_id,
            action,
        )
        raise GatewayMisconfigured(
            f"Stripe rejected the API key (HTTP {status}) trying to {action}"
        ) from None

    if isinstance(exc, stripe.IdempotencyError):
        # Same checkout token, different parameters: a bug on our side (say, an
        # expiry recomputed on retry) that retrying will not cure.
        logger.error(
            "Stripe refused a reused idempotency key trying to %s (request %s): %s",
            action,
            request_id,
            exc.user_message,
        )
        raise GatewayUnavailable(f"idempotency conflict trying to {action}") from exc

    if isinstance(exc, stripe.APIConnectionError | stripe.APIError | stripe.RateLimitError):
        # APIError covers 5xx, 409 conflicts and unreadable responses: all transient.
        logger.warning(
            "Stripe unavailable trying to %s (HTTP %s, request %s): %s",
            action,
            status,
            request_id,
            exc.user_message,
        )
        raise GatewayUnavailable(f"could not {action}: {exc.user_message}") from exc

    if session_id is not None and isinstance(exc, stripe.InvalidRequestError) and _is_missing(exc):
        logger.info("Stripe has no session %s (request %s)", session_id, request_id)
        raise SessionNotFound(f"no Checkout Session {session_id}") from exc

    if isinstance(exc, stripe.CardError):
        logger.info("Stripe declined trying to %s: %s", action, exc.code)
        raise PaymentDeclined(f"declined trying to {action}: {exc.code}") from exc

    # An invalid request we made, or an error type this code does not know.
    logger.error(
        "Stripe refused to %s (HTTP %s, %s, request %s): %s",
        action,
        status,
        type(exc).__name__,
        request_id,
        exc.user_message,
    )
    raise PaymentError(f"could not {action}: {exc.user_message}") from exc
