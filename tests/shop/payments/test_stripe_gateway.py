"""StripeGateway through the real stripe SDK, over HTTP, against tests.support.stripe_fake."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import replace
from typing import Any

import pytest

from shop.payments.base import (
    CheckoutLine,
    CheckoutRequest,
    GatewayMisconfigured,
    GatewayUnavailable,
    InvalidSignature,
    PaymentDeclined,
    PaymentError,
    SessionNotFound,
)
from shop.payments.events import SessionCompleted
from shop.payments.signing import sign_payload
from shop.payments.stripe import STRIPE_API_VERSION, StripeGateway, verify_webhook_event
from tests.support.stripe_fake import FakeStripe, RecordedRequest

SECRET_KEY = "sk_test_gateway_tests_0001"
WEBHOOK_SECRET = "whsec_gateway_tests"


def make_gateway(fake: FakeStripe, **overrides: Any) -> StripeGateway:
    # No retries by default, so each failure test costs one round trip.
    options: dict[str, Any] = {
        "secret_key": SECRET_KEY,
        "api_base": fake.url,
        "timeout": 2.0,
        "max_network_retries": 0,
        **overrides,
    }
    return StripeGateway(**options)


@pytest.fixture
def gateway(fake: FakeStripe) -> StripeGateway:
    return make_gateway(fake)


def checkout_request(**overrides: Any) -> CheckoutRequest:
    expires_at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)
    request = CheckoutRequest(
        order_reference="ORD-1001",
        checkout_token="0b6f4c1e-5b7a-4b8e-9d55-3f1d2a9c7e10",
        lines=(
            CheckoutLine(name="Blue mug", unit_amount=1500, currency="usd", quantity=2),
            CheckoutLine(name="Tea towel", unit_amount=800, currency="usd", quantity=1),
        ),
        currency="usd",
        amount_total=3800,
        success_url="https://shop.example/checkout/success/?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="https://shop.example/checkout/cancel/",
        expires_at=expires_at,
    )
    return replace(request, **overrides)


def create_posts(fake: FakeStripe) -> list[RecordedRequest]:
    return [r for r in fake.requests if r.method == "POST" and r.path == "/v1/checkout/sessions"]


# -- creating sessions ---------------------------------------------------------


def test_create_session_sends_line_items_metadata_reference_and_urls(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    request = checkout_request()

    session = gateway.create_session(request)

    (sent,) = create_posts(fake)
    assert sent.params == {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": "1500",
                    "product_data": {"name": "Blue mug"},
                },
                "quantity": "2",
            },
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": "800",
                    "product_data": {"name": "Tea towel"},
                },
                "quantity": "1",
            },
        ],
        "client_reference_id": "ORD-1001",
        "metadata": {"order_reference": "ORD-1001", "checkout_token": request.checkout_token},
        "payment_intent_data": {"metadata": {"order_reference": "ORD-1001"}},
        "expires_at": str(int(request.expires_at.timestamp())),
        "success_url": request.success_url,
        "cancel_url": request.cancel_url,
    }
    assert sent.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert session.id.startswith("cs_test_")
    assert session.url == f"{fake.url}/pay/{session.id}"
    assert session.is_open
    assert not session.is_paid
    assert (session.amount_total, session.currency) == (3800, "usd")
    assert session.client_reference_id == "ORD-1001"
    assert session.expires_at == request.expires_at
    assert session.payment_id is None


def test_create_session_sends_checkout_token_as_idempotency_key(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    request = checkout_request()

    gateway.create_session(request)

    (sent,) = create_posts(fake)
    assert sent.idempotency_key == f"checkout-{request.checkout_token}"


def test_create_session_sends_customer_email_only_when_given(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    gateway.create_session(checkout_request(checkout_token="token-without-email"))
    gateway.create_session(
        checkout_request(checkout_token="token-with-email", customer_email="ada@example.com")
    )

    without_email, with_email = create_posts(fake)
    assert "customer_email" not in without_email.params
    assert with_email.params["customer_email"] == "ada@example.com"


def test_naive_expiry_is_sent_as_utc(fake: FakeStripe, gateway: StripeGateway) -> None:
    aware = checkout_request().expires_at

    gateway.create_session(checkout_request(expires_at=aware.replace(tzinfo=None)))

    (sent,) = create_posts(fake)
    assert sent.params["expires_at"] == str(int(aware.timestamp()))


def test_retrying_same_request_returns_same_session_without_creating_another(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    request = checkout_request()

    first = gateway.create_session(request)
    second = gateway.create_session(request)

    assert second.id == first.id
    assert list(fake.sessions) == [first.id]
    assert fake.session_creations == 1


def test_same_idempotency_key_with_different_params_is_gateway_unavailable(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    gateway.create_session(checkout_request())
    changed_cart = checkout_request(
        lines=(CheckoutLine(name="Blue mug", unit_amount=1500, currency="usd", quantity=5),),
        amount_total=7500,
    )

    with pytest.raises(GatewayUnavailable) as excinfo:
        gateway.create_session(changed_cart)

    assert not isinstance(excinfo.value, GatewayMisconfigured)
    assert fake.session_creations == 1


# -- transient failures ------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503, 429, 409])
def test_server_errors_and_rate_limits_are_gateway_unavailable(
    fake: FakeStripe, gateway: StripeGateway, status: int
) -> None:
    fake.inject_fault(status=status)

    with pytest.raises(GatewayUnavailable) as excinfo:
        gateway.create_session(checkout_request())

    assert not isinstance(excinfo.value, GatewayMisconfigured)
    assert fake.sessions == {}


def test_refused_connection_is_gateway_unavailable(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    fake.refuse_connections()

    with pytest.raises(GatewayUnavailable):
        gateway.create_session(checkout_request())

    fake.accept_connections()
    assert gateway.create_session(checkout_request()).is_open


def test_response_slower_than_timeout_is_gateway_unavailable(fake: FakeStripe) -> None:
    gateway = make_gateway(fake, timeout=0.3)
    fake.inject_delay(2.0)

    started = time.monotonic()
    with pytest.raises(GatewayUnavailable):
        gateway.create_session(checkout_request())

    assert time.monotonic() - started < 1.5


def test_retry_after_timeout_returns_session_the_slow_attempt_created(fake: FakeStripe) -> None:
    gateway = make_gateway(fake, timeout=0.3)
    request = checkout_request()
    fake.inject_delay(0.6)
    with pytest.raises(GatewayUnavailable):
        gateway.create_session(request)
    # Stripe finishes work a client stopped waiting for; wait for the fake to do so too.
    deadline = time.monotonic() + 5
    while fake.session_creations == 0 and time.monotonic() < deadline:
        time.sleep(0.02)

    session = gateway.create_session(request)

    assert list(fake.sessions) == [session.id]
    assert fake.session_creations == 1


def test_single_transient_server_error_is_retried_with_same_key(fake: FakeStripe) -> None:
    gateway = make_gateway(fake, max_network_retries=2)
    request = checkout_request()
    fake.inject_fault(status=500)

    session = gateway.create_session(request)

    attempts = create_posts(fake)
    assert len(attempts) == 2
    assert {a.idempotency_key for a in attempts} == {request.idempotency_key}
    assert list(fake.sessions) == [session.id]


# -- errors that are not transient -------------------------------------------------


def test_rejected_api_key_is_gateway_misconfigured_and_logged_without_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with FakeStripe(valid_keys={"sk_test_the_right_one"}) as fake:
        gateway = make_gateway(fake, secret_key="sk_test_the_wrong_one")
        with (
            caplog.at_level(logging.INFO, logger="shop.payments.stripe"),
            pytest.raises(GatewayMisconfigured) as excinfo,
        ):
            gateway.create_session(checkout_request())

    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors, "a rejected key must be logged as a configuration problem"
    assert "wrong_one" not in caplog.text
    assert "wrong_one" not in str(excinfo.value)
    assert excinfo.value.__cause__ is None


@pytest.mark.parametrize("status", [401, 403])
def test_authentication_and_permission_errors_are_gateway_misconfigured(
    fake: FakeStripe, gateway: StripeGateway, status: int
) -> None:
    fake.inject_fault(status=status)

    with pytest.raises(GatewayMisconfigured):
        gateway.retrieve_session("cs_test_anything")


def test_card_error_is_payment_declined(fake: FakeStripe, gateway: StripeGateway) -> None:
    fake.inject_fault(status=402)

    with pytest.raises(PaymentDeclined):
        gateway.create_session(checkout_request())


def test_request_stripe_rejects_is_a_plain_payment_error(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    with pytest.raises(PaymentError) as excinfo:
        gateway.create_session(checkout_request(success_url=""))

    assert type(excinfo.value) is PaymentError
    assert fake.sessions == {}


# -- retrieving and expiring -------------------------------------------------------


def test_retrieving_unknown_session_raises_session_not_found(gateway: StripeGateway) -> None:
    with pytest.raises(SessionNotFound):
        gateway.retrieve_session("cs_test_does_not_exist")


def test_retrieving_empty_session_id_raises_session_not_found(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    with pytest.raises(SessionNotFound):
        gateway.retrieve_session("")

    assert fake.requests == []


def test_retrieving_open_session_matches_what_create_returned(gateway: StripeGateway) -> None:
    created = gateway.create_session(checkout_request())

    session = gateway.retrieve_session(created.id)

    assert session == created


def test_retrieving_completed_session_reports_payment_intent_and_email(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    created = gateway.create_session(checkout_request())
    completed = fake.complete_session(created.id, customer_email="ada@example.com")

    session = gateway.retrieve_session(created.id)

    assert session.is_paid
    assert session.payment_id == completed["payment_intent"]
    assert session.payment_id.startswith("pi_test_")
    assert session.customer_email == "ada@example.com"
    assert (session.amount_total, session.currency) == (3800, "usd")


def test_retrieving_session_with_expanded_payment_intent_reports_its_id(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    created = gateway.create_session(checkout_request())
    fake.complete_session(created.id)
    fake.sessions[created.id]["payment_intent"] = {
        "id": "pi_test_expanded",
        "object": "payment_intent",
    }

    session = gateway.retrieve_session(created.id)

    assert session.payment_id == "pi_test_expanded"


def test_prefilled_email_is_reported_when_stripe_has_no_customer_details(
    gateway: StripeGateway,
) -> None:
    created = gateway.create_session(checkout_request(customer_email="ada@example.com"))

    assert gateway.retrieve_session(created.id).customer_email == "ada@example.com"


def test_expiring_open_session_marks_it_expired(fake: FakeStripe, gateway: StripeGateway) -> None:
    created = gateway.create_session(checkout_request())

    session = gateway.expire_session(created.id)

    assert session.is_expired
    assert fake.sessions[created.id]["status"] == "expired"


def test_expiring_session_the_shopper_already_paid_returns_it_paid(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    created = gateway.create_session(checkout_request())
    fake.complete_session(created.id)

    session = gateway.expire_session(created.id)

    assert session.is_paid
    assert fake.sessions[created.id]["status"] == "complete"


def test_expiring_unknown_session_raises_session_not_found(gateway: StripeGateway) -> None:
    with pytest.raises(SessionNotFound):
        gateway.expire_session("cs_test_does_not_exist")


def test_requests_and_webhook_events_use_the_pinned_api_version(fake: FakeStripe) -> None:
    gateway = make_gateway(fake, webhook_secret=WEBHOOK_SECRET)
    session = gateway.create_session(checkout_request())

    assert fake.requests[-1].headers["stripe-version"] == STRIPE_API_VERSION
    payload = fake.event("checkout.session.completed", fake.complete_session(session.id))
    body = json.dumps(payload).encode()
    event = gateway.parse_event(body, {"Stripe-Signature": sign_payload(body, WEBHOOK_SECRET)})
    assert type(event) is SessionCompleted
    assert event.session.id == session.id and event.session.is_paid


# -- webhook verification ----------------------------------------------------------

EVENT = {
    "id": "evt_test_1",
    "object": "event",
    "type": "checkout.session.completed",
    "data": {"object": {"id": "cs_test_1", "object": "checkout.session", "metadata": {}}},
}


def test_webhook_with_valid_signature_returns_event_as_plain_dict() -> None:
    payload = json.dumps(EVENT).encode()

    event = verify_webhook_event(payload, sign_payload(payload, WEBHOOK_SECRET), WEBHOOK_SECRET)

    assert event == EVENT
    assert type(event) is dict
    assert type(event["data"]["object"]) is dict


def test_webhook_signed_with_another_secret_is_rejected() -> None:
    payload = json.dumps(EVENT).encode()

    with pytest.raises(InvalidSignature):
        verify_webhook_event(payload, sign_payload(payload, "whsec_other"), WEBHOOK_SECRET)


def test_webhook_signed_longer_ago_than_tolerance_is_rejected() -> None:
    payload = json.dumps(EVENT).encode()
    stale = sign_payload(payload, WEBHOOK_SECRET, timestamp=int(time.time()) - 301)

    with pytest.raises(InvalidSignature):
        verify_webhook_event(payload, stale, WEBHOOK_SECRET)


def test_webhook_with_tampered_body_is_rejected() -> None:
    payload = json.dumps(EVENT).encode()
    header = sign_payload(payload, WEBHOOK_SECRET)

    with pytest.raises(InvalidSignature):
        verify_webhook_event(payload.replace(b"cs_test_1", b"cs_test_2"), header, WEBHOOK_SECRET)


@pytest.mark.parametrize(
    "header",
    [None, "", "garbage", "t=not-a-number,v1=abc", "v1=abc", "t=1700000000"],
)
def test_webhook_with_missing_or_malformed_signature_is_rejected(header: str | None) -> None:
    with pytest.raises(InvalidSignature):
        verify_webhook_event(json.dumps(EVENT).encode(), header, WEBHOOK_SECRET)


@pytest.mark.parametrize("payload", [b"not json", b"[1, 2]", b'"event"', b"\xff\xfe{}"])
def test_webhook_whose_signed_body_is_not_a_json_object_is_rejected(payload: bytes) -> None:
    with pytest.raises(InvalidSignature):
        verify_webhook_event(payload, sign_payload(payload, WEBHOOK_SECRET), WEBHOOK_SECRET)


def test_webhook_is_rejected_when_no_secret_is_configured() -> None:
    payload = json.dumps(EVENT).encode()

    with pytest.raises(InvalidSignature):
        verify_webhook_event(payload, sign_payload(payload, ""), "")
