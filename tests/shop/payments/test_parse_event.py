"""Each gateway's parse_event: a verified delivery becomes one of our own typed events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from shop.payments import events as ev
from shop.payments.base import InvalidSignature, MalformedEvent
from shop.payments.local import LocalGateway
from shop.payments.signing import sign_payload
from shop.payments.stripe import STRIPE_API_VERSION, StripeGateway

WEBHOOK_SECRET = "whsec_parse_tests"
SESSION = {
    "id": "cs_test_parse",
    "object": "checkout.session",
    "status": "complete",
    "payment_status": "paid",
    "amount_total": 1800,
    "currency": "USD",
    "client_reference_id": "AB12-CD34",
    "payment_intent": "pi_test_parse",
    "customer_details": {"email": "ada@example.com"},
}


def gateway() -> StripeGateway:
    return StripeGateway(secret_key="sk_test_parse", webhook_secret=WEBHOOK_SECRET)


def delivery(event_type: str, obj: dict[str, Any], **envelope: Any) -> tuple[bytes, dict]:
    payload = {
        "id": "evt_test_parse",
        "object": "event",
        "api_version": STRIPE_API_VERSION,
        "type": event_type,
        "data": {"object": obj},
        **envelope,
    }
    body = json.dumps(payload).encode()
    return body, {"Stripe-Signature": sign_payload(body, WEBHOOK_SECRET)}


@pytest.mark.parametrize(
    ("event_type", "cls"),
    [
        ("checkout.session.completed", ev.SessionCompleted),
        ("checkout.session.async_payment_succeeded", ev.AsyncPaymentSucceeded),
        ("checkout.session.async_payment_failed", ev.AsyncPaymentFailed),
        ("checkout.session.expired", ev.SessionExpired),
    ],
)
def test_session_events_carry_our_checkout_session(event_type: str, cls: type) -> None:
    event = gateway().parse_event(*delivery(event_type, SESSION))

    assert type(event) is cls
    assert (event.id, event.type) == ("evt_test_parse", event_type)
    assert event.payload["data"]["object"]["id"] == "cs_test_parse"
    assert event.session.id == "cs_test_parse"
    assert event.session.is_paid
    assert (event.session.amount_total, event.session.currency) == (1800, "usd")
    assert event.payment_id == "pi_test_parse"


def test_declined_attempt_names_the_order_and_a_reason_safe_for_shoppers() -> None:
    intent = {
        "id": "pi_test_declined",
        "object": "payment_intent",
        "metadata": {"order_reference": "AB12-CD34"},
        "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
    }

    event = gateway().parse_event(*delivery("payment_intent.payment_failed", intent))

    assert type(event) is ev.PaymentAttemptFailed
    assert event.order_reference == "AB12-CD34"
    assert event.reason == "Your card was declined. You have not been charged."


@pytest.mark.parametrize(("refunded", "fully"), [(1800, True), (500, False)])
def test_refund_says_which_payment_how_much_and_whether_in_full(refunded: int, fully: bool) -> None:
    charge = {
        "id": "ch_test_1",
        "object": "charge",
        "amount": 1800,
        "amount_refunded": refunded,
        "payment_intent": "pi_test_parse",
        "refunded": fully,
    }

    event = gateway().parse_event(*delivery("charge.refunded", charge))

    assert type(event) is ev.RefundUpdated
    assert (event.payment_id, event.amount_refunded, event.fully_refunded) == (
        "pi_test_parse",
        refunded,
        fully,
    )


def test_a_type_we_do_not_use_is_unhandled_and_keeps_its_name() -> None:
    event = gateway().parse_event(*delivery("customer.created", {"id": "cus_1"}))

    assert type(event) is ev.UnhandledEvent
    assert event.type == "customer.created"


def test_a_used_type_whose_object_we_cannot_read_is_unusable_not_an_error() -> None:
    event = gateway().parse_event(*delivery("charge.refunded", {"id": "ch_1", "refunded": True}))

    assert type(event) is ev.UnusableEvent
    assert "payment_intent" in event.problem


@pytest.mark.parametrize("version", ["2024-06-20", None])
def test_an_event_in_another_api_version_is_malformed(version: str | None) -> None:
    body, headers = delivery("checkout.session.completed", SESSION, api_version=version)

    with pytest.raises(MalformedEvent, match=STRIPE_API_VERSION):
        gateway().parse_event(body, headers)


def test_a_bad_signature_is_invalid_before_anything_is_read() -> None:
    body, _ = delivery("checkout.session.completed", SESSION)

    with pytest.raises(InvalidSignature):
        gateway().parse_event(body, {"Stripe-Signature": sign_payload(body, "whsec_other")})


def test_without_a_webhook_secret_the_stripe_gateway_refuses_as_misconfigured() -> None:
    body, headers = delivery("checkout.session.completed", SESSION)

    with pytest.raises(ImproperlyConfigured, match="STRIPE_WEBHOOK_SECRET"):
        StripeGateway(secret_key="sk_test_parse").parse_event(body, headers)


@pytest.mark.django_db
def test_the_local_gateway_reads_its_own_signed_deliveries(settings) -> None:
    settings.STRIPE_WEBHOOK_SECRET = ""
    row = _local_session()

    paid = LocalGateway().parse_event(*LocalGateway().paid_delivery(row))
    declined = LocalGateway().parse_event(*LocalGateway().declined_delivery(row))

    assert type(paid) is ev.SessionCompleted and paid.session.id == row.id
    assert type(declined) is ev.PaymentAttemptFailed
    assert declined.order_reference == row.client_reference_id


@pytest.mark.django_db
def test_the_local_gateway_refuses_deliveries_signed_with_another_secret(settings) -> None:
    body, _ = LocalGateway().paid_delivery(_local_session())

    with pytest.raises(InvalidSignature):
        LocalGateway().parse_event(body, {"Stripe-Signature": sign_payload(body, "whsec_x")})


def test_session_ids_are_checked_before_they_are_looked_up() -> None:
    assert StripeGateway.is_session_id("cs_test_a1B2")
    assert LocalGateway.is_session_id("cs_local_a1B2")
    for value in ("", "cs_", "pi_test_1", "cs_test_a/../b", "cs_" + "a" * 201):
        assert not StripeGateway.is_session_id(value)


def _local_session():
    import datetime as dt

    from django.utils import timezone

    from shop.models import LocalCheckoutSession

    return LocalCheckoutSession.objects.create(
        id="cs_local_parse",
        idempotency_key="checkout-parse",
        request_fingerprint="x",
        client_reference_id="AB12-CD34",
        line_items=[],
        amount_total=1800,
        currency="usd",
        success_url="http://testserver/checkout/success/?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://testserver/checkout/cancel/",
        expires_at=timezone.now() + dt.timedelta(hours=1),
        status="complete",
        payment_status="paid",
        payment_id="pi_local_parse",
    )
