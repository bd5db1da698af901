"""Stripe-shaped objects and events, and webhook deliveries signed as Stripe signs them.

A delivery is signed JSON posted to the real webhook endpoint, as Stripe sends it.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from django.http import HttpResponse
from django.test import Client

from shop.models import Order
from shop.payments import webhook_secret
from shop.payments.signing import sign_payload
from shop.payments.stripe import STRIPE_API_VERSION
from tests.support.shopper import Browser


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def session_object(
    order: Order,
    *,
    status: str = "complete",
    payment_status: str = "paid",
    amount_total: int | None = None,
    currency: str | None = None,
    email: str | None = "buyer@example.com",
    payment_intent: str | None = None,
    session_id: str | None = None,
) -> dict[str, Any]:
    """A Checkout Session object the way Stripe puts it in ``event.data.object``.

    A completed session of an order that ships was paid with its first offered rate, to a
    US address; ``amount_total`` overrides what was charged.
    """
    settled = status == "complete"
    shipping = shipping_shapes(order) if settled else {}
    charged = (
        order.amount_subtotal + shipping["total_details"]["amount_shipping"] if shipping else None
    )
    amount = amount_total if amount_total is not None else charged or order.amount_total
    return {
        **shipping,
        "id": session_id or order.payment_session_id,
        "object": "checkout.session",
        "amount_subtotal": order.amount_subtotal if shipping else amount,
        "amount_total": amount,
        "cancel_url": f"http://testserver/checkout/cancel/?order={order.reference}",
        "client_reference_id": order.reference,
        "created": int(time.time()) - 60,
        "currency": currency or order.currency,
        "customer": None,
        "customer_details": (
            {"email": email, "name": "Ada Buyer", "phone": None, "tax_exempt": "none"}
            if settled
            else None
        ),
        "customer_email": None,
        "expires_at": int(time.time()) + 29 * 60,
        "livemode": False,
        "metadata": {"order_reference": order.reference},
        "mode": "payment",
        "payment_intent": payment_intent or (new_id("pi") if settled else None),
        "payment_status": payment_status,
        "status": status,
        "success_url": "http://testserver/checkout/success/?session_id={CHECKOUT_SESSION_ID}",
        "url": None if settled or status == "expired" else "https://checkout.stripe.test/x",
    }


def shipping_shapes(order: Order, *, option: int = 0) -> dict[str, Any]:
    """The shipping fields of a session paid with the order's offered ``option`` to a US
    address, as API 2026-10-28 shapes them; empty for an order that does not ship."""
    offered = (order.shipping_offered or {}).get("options") or []
    if not offered:
        return {}
    rates = [f"shr_test_{order.reference}_{index}" for index in range(len(offered))]
    amount = offered[option]["amount"]
    return {
        "shipping_address_collection": {"allowed_countries": order.shipping_offered["countries"]},
        "shipping_options": [
            {"shipping_amount": o["amount"], "shipping_rate": rate}
            for o, rate in zip(offered, rates, strict=True)
        ],
        "shipping_cost": {
            "amount_subtotal": amount,
            "amount_tax": 0,
            "amount_total": amount,
            "shipping_rate": rates[option],
        },
        "total_details": {"amount_discount": 0, "amount_shipping": amount, "amount_tax": 0},
        "collected_information": {
            "business_name": None,
            "individual_name": None,
            "shipping_details": {
                "name": "Ada Buyer",
                "address": {
                    "line1": "12 Analytical Row",
                    "line2": None,
                    "city": "Springfield",
                    "postal_code": "62701",
                    "state": "IL",
                    "country": "US",
                },
            },
        },
    }


def charge_object(
    *, payment_intent: str, amount: int, amount_refunded: int, currency: str = "usd"
) -> dict[str, Any]:
    """A Charge object as ``charge.refunded`` carries it."""
    return {
        "id": new_id("ch"),
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": amount_refunded,
        "captured": True,
        "currency": currency,
        "paid": True,
        "payment_intent": payment_intent,
        "refunded": amount_refunded >= amount,
        "status": "succeeded",
    }


def dispute_object(
    *,
    payment_intent: str,
    amount: int,
    currency: str = "usd",
    status: str = "needs_response",
    reason: str = "fraudulent",
    due_by: int | None = None,
    dispute_id: str | None = None,
) -> dict[str, Any]:
    """A Dispute object as ``charge.dispute.created``, ``.updated`` and ``.closed`` carry it
    (stripe/_dispute.py for our API version); ``due_by`` defaults to a week from now."""
    return {
        "id": dispute_id or new_id("dp"),
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": new_id("ch"),
        "created": int(time.time()),
        "currency": currency,
        "evidence": {},
        "evidence_details": {
            "due_by": int(time.time()) + 7 * 24 * 3600 if due_by is None else due_by,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "submission_method": "not_submitted",
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": payment_intent,
        "reason": reason,
        "status": status,
    }


DISPUTE_PHASES = {
    "created": "charge.dispute.created",
    "updated": "charge.dispute.updated",
    "closed": "charge.dispute.closed",
}


def dispute_event(phase: str, dispute: Mapping[str, Any], *, created: int | None = None) -> dict:
    """``charge.dispute.<phase>`` for ``dispute``; ``created`` is when Stripe says it happened."""
    envelope = event(DISPUTE_PHASES[phase], dispute)
    if created is not None:
        envelope["created"] = created
    return envelope


def event(event_type: str, obj: Mapping[str, Any], *, event_id: str | None = None) -> dict:
    """An Event envelope as Stripe sends it to a webhook endpoint."""
    return {
        "id": event_id or new_id("evt"),
        "object": "event",
        "api_version": STRIPE_API_VERSION,
        "created": int(time.time()),
        "data": {"object": dict(obj)},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def signature_for(body: bytes, *, secret: str | None = None, timestamp: int | None = None) -> str:
    return sign_payload(body, webhook_secret() if secret is None else secret, timestamp=timestamp)


def deliver(
    client: Client | Browser,
    payload: Mapping[str, Any] | bytes,
    *,
    secret: str | None = None,
    signature: str | None = None,
) -> HttpResponse:
    """POST a webhook the way Stripe does: raw JSON body, Stripe-Signature header."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"HTTP_STRIPE_SIGNATURE": signature or signature_for(body, secret=secret)}
    return client.post("/stripe/webhook/", body, content_type="application/json", **headers)
