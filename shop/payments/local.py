"""The local test gateway: Stripe Checkout's behaviour, embedded, with no keys and no network.

Sessions live in the database (``LocalCheckoutSession``) and are paid on our own test
payment page (``shop.checkout.local_page``), which confirms a payment by delivering a
signed ``checkout.session.completed`` event through the real webhook handler. Its events
are Stripe's, signed as Stripe signs them (with :func:`shop.payments.webhook_secret`), so
they are read by the same parser.

It makes no invoices (``CheckoutRequest.invoice`` is ignored): the shop's own receipt
covers test orders.
"""

import hashlib
import json
import secrets
import time
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from shop.models import LocalCheckoutSession, Refund
from shop.payments import webhook_secret
from shop.payments.base import (
    CheckoutRequest,
    CheckoutSession,
    GatewayUnavailable,
    ProviderRefund,
    RefundRequest,
    SessionNotFound,
    ShippingAddress,
)
from shop.payments.events import ProviderEvent
from shop.payments.signing import sign_payload
from shop.payments.stripe import (
    SIGNATURE_HEADER,
    STRIPE_API_VERSION,
    StripeGateway,
    parse_signed_event,
)
from shop.payments.stripe_json import refund_from_dict, session_from_dict
from shop.promotions import discount_for


def _fingerprint(request: CheckoutRequest) -> str:
    params = {
        "reference": request.order_reference,
        "lines": [vars(line) for line in request.lines],
        "currency": request.currency,
        "success_url": request.success_url,
        "cancel_url": request.cancel_url,
        "expires_at": request.expires_at.isoformat(),
        "customer_email": request.customer_email,
        "shipping": _shipping_params(request),
        "discount": _discount_params(request),
        "tax_behavior": request.tax_behavior,
    }
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()


def _shipping_params(request: CheckoutRequest) -> dict:
    if not request.shipping_options:
        return {}
    return {
        "countries": list(request.shipping_countries),
        "collect_phone": request.collect_phone,
        "options": [
            {
                "key": option.key,
                "name": option.name,
                "amount": option.amount,
                "min_days": option.min_days,
                "max_days": option.max_days,
                # Not a Stripe parameter: this page refuses a rate for another country.
                "countries": list(option.countries),
            }
            for option in request.shipping_options
        ],
    }


def _discount_params(request: CheckoutRequest) -> dict:
    discount = request.discount
    if discount is None:
        return {}
    return {
        "code": discount.code,
        "percent_off": discount.percent_off,
        "amount_off": discount.amount_off,
        "coupon": f"local_{hashlib.sha256(discount.idempotency_key.encode()).hexdigest()[:16]}",
    }


def discount_amount(discount: dict, subtotal: int) -> int:
    """What the session's coupon takes off, as the shop computes it."""
    if not discount:
        return 0
    return discount_for(
        percent_off=discount.get("percent_off"),
        amount_off=discount.get("amount_off"),
        subtotal=subtotal,
    )


def _tax_params(request: CheckoutRequest) -> dict:
    """Automatic tax, as this gateway does it: one flat rate from Settings → Store settings,
    fixed when the session opens (as Stripe's rate is fixed by the address)."""
    if not request.tax_behavior:
        return {}
    from shop.shipping import store_settings

    return {"behavior": request.tax_behavior, "rate": str(store_settings().test_tax_rate)}


def tax_amount(row: LocalCheckoutSession, taxable: int) -> int:
    """The flat-rate tax on ``taxable`` minor units: added on top (exclusive) or the part of
    it that is tax (inclusive); 0 without automatic tax. Rounded half up, as Stripe does."""
    if not row.tax:
        return 0
    rate = Decimal(row.tax["rate"])
    base = Decimal(100) if row.tax["behavior"] == "exclusive" else Decimal(100) + rate
    return int((taxable * rate / base).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def added_tax(row: LocalCheckoutSession, taxable: int) -> int:
    """What the tax adds to the total: all of it when exclusive, nothing when inclusive."""
    return tax_amount(row, taxable) if row.tax.get("behavior") == "exclusive" else 0


def _subtotal(row: LocalCheckoutSession) -> int:
    return sum(line["unit_amount"] * line["quantity"] for line in row.line_items)


def taxable_amount(row: LocalCheckoutSession, delivery: int = 0) -> int:
    """What the tax is charged on: the items after the discount, and the delivery."""
    return _subtotal(row) - row.amount_discount + delivery


def _chosen_shipping(row: LocalCheckoutSession) -> int:
    options = (row.shipping or {}).get("options") or []
    chosen = row.shipping_option
    return options[chosen]["amount"] if options and chosen is not None else 0


def _rate_id(row: LocalCheckoutSession, index: int) -> str:
    return f"shr_local_{row.pk[-12:]}_{index}"


def _shipping_payload(row: LocalCheckoutSession) -> dict:
    """The session's shipping fields as Stripe shapes them for API 2026-10-28."""
    options = (row.shipping or {}).get("options") or []
    if not options:
        return {}
    chosen = row.shipping_option
    amount = options[chosen]["amount"] if chosen is not None else None
    payload = {
        "shipping_address_collection": {"allowed_countries": row.shipping["countries"]},
        "shipping_options": [
            {"shipping_amount": option["amount"], "shipping_rate": _rate_id(row, index)}
            for index, option in enumerate(options)
        ],
        "shipping_cost": None,
        "collected_information": None,
    }
    if chosen is not None:
        shipping_tax = tax_amount(row, amount)
        payload["shipping_cost"] = {
            "amount_subtotal": amount,
            "amount_tax": shipping_tax,
            "amount_total": amount + added_tax(row, amount),
            "shipping_rate": _rate_id(row, chosen),
        }
        payload["total_details"] = {
            "amount_discount": row.amount_discount,
            "amount_shipping": amount,
            "amount_tax": tax_amount(row, taxable_amount(row, amount)),
        }
    if row.shipping_details is not None:
        payload["collected_information"] = {
            "business_name": None,
            "individual_name": None,
            "shipping_details": row.shipping_details,
        }
    return payload


def session_payload(row: LocalCheckoutSession) -> dict:
    """The session as Stripe's JSON shapes it (used in events and by the payment page)."""
    shipping = _shipping_payload(row)
    subtotal = _subtotal(row)
    if row.tax:
        shipping["automatic_tax"] = {"enabled": True, "liability": None, "status": "complete"}
        shipping.setdefault(
            "total_details",
            {
                "amount_discount": row.amount_discount,
                "amount_shipping": 0,
                "amount_tax": tax_amount(row, taxable_amount(row)),
            },
        )
    details = {"email": row.customer_email} if row.customer_email else None
    if details is not None and row.phone:
        details["phone"] = row.phone
    discounts = []
    if row.discount:
        discounts = [{"coupon": row.discount["coupon"], "promotion_code": None}]
    totals = {"amount_discount": row.amount_discount, "amount_shipping": 0, "amount_tax": 0}
    return {
        "total_details": totals,
        **shipping,
        "discounts": discounts,
        "amount_subtotal": subtotal,
        "id": row.id,
        "object": "checkout.session",
        "mode": "payment",
        "url": reverse("local_checkout_page", args=[row.id]),
        "status": row.status,
        "payment_status": row.payment_status,
        "amount_total": row.amount_total,
        "currency": row.currency,
        "client_reference_id": row.client_reference_id,
        "metadata": {"order_reference": row.client_reference_id},
        "payment_intent": row.payment_id or None,
        "customer_email": row.customer_email or None,
        "customer_details": details,
        "expires_at": int(row.expires_at.timestamp()),
        "success_url": row.success_url,
        "cancel_url": row.cancel_url,
        "livemode": False,
    }


def _to_session(row: LocalCheckoutSession) -> CheckoutSession:
    return session_from_dict(session_payload(row))


DECLINE_MESSAGE = "Your card was declined (test)."


def _delivery(event_type: str, obj: dict) -> dict:
    body, headers = _signed_event(event_type, obj)
    return {"body": body, "headers": headers}


def _signed_event(event_type: str, obj: dict) -> tuple[bytes, dict[str, str]]:
    event = {
        "id": f"evt_local_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": STRIPE_API_VERSION,
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }
    body = json.dumps(event).encode()
    return body, {SIGNATURE_HEADER: sign_payload(body, webhook_secret())}


class LocalGateway:
    display_name = "the local test gateway"
    checkout_origin = None
    # Its ids are shaped like Stripe's, so the same ones are accepted.
    is_session_id = staticmethod(StripeGateway.is_session_id)

    def parse_event(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        return parse_signed_event(body, headers, webhook_secret())

    def create_session(self, request: CheckoutRequest) -> CheckoutSession:
        fingerprint = _fingerprint(request)
        existing = LocalCheckoutSession.objects.filter(
            idempotency_key=request.idempotency_key
        ).first()
        if existing is None:
            try:
                with transaction.atomic():
                    existing = LocalCheckoutSession.objects.create(
                        id=f"cs_local_{secrets.token_urlsafe(18).replace('-', 'x')}",
                        idempotency_key=request.idempotency_key,
                        request_fingerprint=fingerprint,
                        client_reference_id=request.order_reference,
                        line_items=[vars(line) for line in request.lines],
                        amount_total=request.amount_total,
                        currency=request.currency,
                        customer_email=request.customer_email or "",
                        success_url=request.success_url,
                        cancel_url=request.cancel_url,
                        expires_at=request.expires_at,
                        shipping=_shipping_params(request),
                        discount=_discount_params(request),
                        amount_discount=discount_amount(
                            _discount_params(request),
                            sum(line.unit_amount * line.quantity for line in request.lines),
                        ),
                        tax=_tax_params(request),
                    )
                return _to_session(existing)
            except IntegrityError:
                existing = LocalCheckoutSession.objects.get(idempotency_key=request.idempotency_key)
        if existing.request_fingerprint != fingerprint:
            # Stripe answers an idempotency error; so do we.
            raise GatewayUnavailable("idempotency key reused with different parameters")
        return _to_session(existing)

    def retrieve_session(self, session_id: str) -> CheckoutSession:
        row = LocalCheckoutSession.objects.filter(pk=session_id).first()
        if row is None:
            raise SessionNotFound(session_id)
        if row.status == "open" and row.expires_at <= timezone.now():
            # Stripe expires sessions on its own schedule; we do it when asked.
            LocalCheckoutSession.objects.filter(pk=row.pk, status="open").update(status="expired")
            row.refresh_from_db()
        return _to_session(row)

    def expire_session(self, session_id: str) -> CheckoutSession:
        if not LocalCheckoutSession.objects.filter(pk=session_id).exists():
            raise SessionNotFound(session_id)
        # As StripeGateway does: a session that is no longer open (perhaps paid a moment
        # ago) is returned as it stands; callers look at the result.
        LocalCheckoutSession.objects.filter(pk=session_id, status="open").update(status="expired")
        return self.retrieve_session(session_id)

    def create_refund(self, request: RefundRequest) -> ProviderRefund:
        """Refund at once, as a card refund at Stripe does: the refund's and the charge's
        signed events go through the real webhook before the answer comes back (so our
        record is found by its metadata, before it has the provider's id). The same key
        again answers with the same refund and sends nothing."""
        from shop.services.webhooks import webhook_deliver

        digest = hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:24]
        obj = {
            "id": f"re_local_{digest}",
            "object": "refund",
            "amount": request.amount,
            "currency": request.currency,
            "status": "succeeded",
            "payment_intent": request.payment_id,
            "reason": request.reason,
            "metadata": {
                "refund_id": str(request.refund_id),
                "order_reference": request.order_reference,
            },
            "failure_reason": None,
            "created": int(time.time()),
        }
        if not Refund.objects.filter(provider_refund_id=obj["id"]).exists():
            webhook_deliver(**_delivery("refund.created", obj))
            refunded = sum(
                Refund.objects.filter(
                    payment_id=request.payment_id, status=Refund.Status.SUCCEEDED
                ).values_list("amount", flat=True)
            )
            charge = {
                "id": f"ch_local_{hashlib.sha256(request.payment_id.encode()).hexdigest()[:24]}",
                "object": "charge",
                "payment_intent": request.payment_id,
                "currency": request.currency,
                "amount_refunded": refunded,
                "refunded": False,
            }
            webhook_deliver(**_delivery("charge.refunded", charge))
        return refund_from_dict(obj)

    def retrieve_refund(self, refund_id: str) -> ProviderRefund:
        row = Refund.objects.filter(provider_refund_id=refund_id).first()
        if row is None:
            raise SessionNotFound(refund_id)
        return ProviderRefund(
            id=refund_id,
            amount=row.amount,
            currency=row.currency,
            status="succeeded",
            payment_id=row.payment_id,
            refund_id=row.pk,
        )

    # -- what the test payment page does -------------------------------------------------

    def pay(
        self,
        session_id: str,
        *,
        email: str,
        address: ShippingAddress | None = None,
        option: int | None = None,
    ) -> LocalCheckoutSession | None:
        """Complete an open session as paid; None when it was not open (a second click).

        ``address`` and ``option`` (a position in the session's shipping options) are what
        the shopper chose; the total then includes that option's amount, as Stripe's does,
        and the flat-rate tax when it is added on top.
        """
        row = LocalCheckoutSession.objects.filter(pk=session_id).first()
        shipping: dict = {}
        if row is not None:
            # The total includes the chosen option's amount and any tax added on top.
            delivery = row.shipping["options"][option]["amount"] if option is not None else 0
            taxable = taxable_amount(row, delivery)
            if option is not None:
                shipping["shipping_option"] = option
            if option is not None or row.tax:
                shipping["amount_total"] = taxable + added_tax(row, taxable)
        if address is not None:
            shipping["phone"] = address.phone
            shipping["shipping_details"] = {
                "name": address.name,
                "address": {
                    "line1": address.line1,
                    "line2": address.line2 or None,
                    "city": address.city,
                    "postal_code": address.postal_code,
                    "state": address.region or None,
                    "country": address.country,
                },
            }
        updated = LocalCheckoutSession.objects.filter(pk=session_id, status="open").update(
            status="complete",
            payment_status="paid",
            payment_id=f"pi_local_{secrets.token_hex(12)}",
            customer_email=email,
            **shipping,
        )
        return LocalCheckoutSession.objects.get(pk=session_id) if updated else None

    def paid_delivery(self, row: LocalCheckoutSession) -> tuple[bytes, dict[str, str]]:
        """The signed webhook delivery (body, headers) confirming a paid session."""
        return _signed_event("checkout.session.completed", session_payload(row))

    def declined_delivery(self, row: LocalCheckoutSession) -> tuple[bytes, dict[str, str]]:
        """What Stripe sends when a card is declined at Checkout: the attempt's payment."""
        return _signed_event(
            "payment_intent.payment_failed",
            {
                "id": f"pi_local_{secrets.token_hex(12)}",
                "object": "payment_intent",
                "status": "requires_payment_method",
                "amount": row.amount_total,
                "currency": row.currency,
                "metadata": {"order_reference": row.client_reference_id},
                "last_payment_error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "generic_decline",
                    "message": DECLINE_MESSAGE,
                },
            },
        )
