"""POST /stripe/webhook/ as Stripe (or a forger) calls it: signed JSON events, in any order.

Bad signatures get 400 and change nothing; a known event id changes nothing; every handled
type moves the order only along the allowed transitions.
"""

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core import mail

from shop.models import Order, PaymentEvent
from shop.payments.stripe import STRIPE_API_VERSION
from tests.support.events import (
    charge_object,
    deliver,
    event,
    new_id,
    session_object,
    signature_for,
)
from tests.support.shopper import Browser

pytestmark = pytest.mark.django_db


def paid_event(order: Order, **overrides: Any) -> dict:
    return event("checkout.session.completed", session_object(order, **overrides))


def nothing_happened(order: Order) -> None:
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert order.awaiting_confirmation_since is None
    assert not PaymentEvent.objects.exists()
    assert mail.outbox == []


# -- refused deliveries ----------------------------------------------------------------------


def _body(order: Order) -> bytes:
    return json.dumps(paid_event(order)).encode()


def _unsigned(order: Order) -> tuple[bytes, str | None]:
    return _body(order), None


def _wrong_secret(order: Order) -> tuple[bytes, str | None]:
    body = _body(order)
    return body, signature_for(body, secret="whsec_someone_elses_secret")


def _stale(order: Order) -> tuple[bytes, str | None]:
    body = _body(order)
    return body, signature_for(body, timestamp=int(time.time()) - 301)


def _tampered(order: Order) -> tuple[bytes, str | None]:
    body = _body(order)
    signature = signature_for(body)
    return body.replace(b'"amount_total": ', b'"amount_total": 1'), signature


def _garbled_header(order: Order) -> tuple[bytes, str | None]:
    return _body(order), "t=yesterday,v1=zz"


def _signed(body: bytes) -> Callable[[Order], tuple[bytes, str | None]]:
    return lambda order: (body, signature_for(body))


def _signed_event_without_id(order: Order) -> tuple[bytes, str | None]:
    payload = paid_event(order)
    del payload["id"]
    body = json.dumps(payload).encode()
    return body, signature_for(body)


def _signed_event_with_a_nul_character(order: Order) -> tuple[bytes, str | None]:
    # PostgreSQL can store it in neither the event's jsonb nor a text column.
    payload = paid_event(order)
    payload["data"]["object"]["customer_details"]["name"] = "Ada\u0000"
    body = json.dumps(payload).encode()
    return body, signature_for(body)


def _signed_event_in_another_api_version(order: Order) -> tuple[bytes, str | None]:
    payload = paid_event(order)
    payload["api_version"] = "2024-06-20"
    body = json.dumps(payload).encode()
    return body, signature_for(body)


REFUSED: dict[str, Callable[[Order], tuple[bytes, str | None]]] = {
    "unsigned": _unsigned,
    "signed with another secret": _wrong_secret,
    "signed more than 300 s ago": _stale,
    "body changed after signing": _tampered,
    "garbled signature header": _garbled_header,
    "signed body that is not JSON": _signed(b"payment for order, honest"),
    "signed JSON array": _signed(b"[1, 2, 3]"),
    "signed event without an id": _signed_event_without_id,
    "signed event with a NUL character": _signed_event_with_a_nul_character,
    "signed event in another API version": _signed_event_in_another_api_version,
    "signed JSON nested deeper than the parser goes": _signed(b"[" * 100_000 + b"]" * 100_000),
    # Python reads these; no JSON column stores them.
    "signed event with -Infinity": _signed(
        b'{"id": "evt_1", "type": "x", "data": {"object": {"amount_total": -Infinity}}}'
    ),
    "signed event with a number beyond a float": _signed(
        b'{"id": "evt_1", "type": "x", "data": {"object": {"amount_total": 1e999}}}'
    ),
}


@pytest.mark.parametrize("make", REFUSED.values(), ids=REFUSED.keys())
def test_bad_delivery_is_refused_and_changes_nothing(
    browser: Browser, order: Order, make: Callable[[Order], tuple[bytes, str | None]]
) -> None:
    body, signature = make(order)
    headers = {} if signature is None else {"HTTP_STRIPE_SIGNATURE": signature}

    response = browser.post("/stripe/webhook/", body, content_type="application/json", **headers)

    assert response.status_code == 400
    nothing_happened(order)


def test_event_in_another_api_version_is_refused_with_an_error_naming_both_versions(
    browser: Browser, order: Order, shop_log: pytest.LogCaptureFixture
) -> None:
    # The Dashboard's endpoint set to another version: refused loudly, so it is retried.
    body, signature = _signed_event_in_another_api_version(order)

    response = browser.post(
        "/stripe/webhook/", body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "malformed event"}
    errors = [r.getMessage() for r in shop_log.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "2024-06-20" in errors[0] and STRIPE_API_VERSION in errors[0]
    nothing_happened(order)


def test_the_same_event_properly_signed_is_accepted(browser: Browser, order: Order) -> None:
    # The control for the refusals above: only the signature made the difference.
    response = deliver(browser, paid_event(order))

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_webhook_endpoint_takes_only_posts(browser: Browser, order: Order) -> None:
    assert browser.get("/stripe/webhook/").status_code == 405


# -- accepted but not acted on ---------------------------------------------------------------


def test_unknown_event_type_is_recorded_and_changes_nothing_else(
    browser: Browser, order: Order
) -> None:
    intent = {
        "id": new_id("pi"),
        "object": "payment_intent",
        "amount": order.amount_total,
        "currency": "usd",
        "status": "succeeded",
        "metadata": {"order_reference": order.reference},
    }
    payload = event("payment_intent.succeeded", intent)

    response = deliver(browser, payload)

    assert response.status_code == 200
    recorded = PaymentEvent.objects.get()
    assert (recorded.provider_event_id, recorded.type) == (
        payload["id"],
        "payment_intent.succeeded",
    )
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert mail.outbox == []


def test_event_for_a_session_we_do_not_know_is_accepted_and_changes_nothing(
    browser: Browser, order: Order
) -> None:
    # Another integration on the same Stripe account: not ours, not an error.
    foreign = session_object(order, session_id="cs_test_from_another_integration")
    foreign["client_reference_id"] = None
    foreign["metadata"] = {}

    response = deliver(browser, event("checkout.session.completed", foreign))

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert PaymentEvent.objects.get().order is None
    assert mail.outbox == []


def test_replayed_event_answers_200_and_changes_nothing_more(
    browser: Browser, order: Order
) -> None:
    payload = paid_event(order)
    assert deliver(browser, payload).status_code == 200
    order.refresh_from_db()
    paid_at = order.paid_at

    # Stripe re-sends an event with a fresh signature when it did not see our answer.
    replays = [deliver(browser, payload) for _ in range(3)]

    assert [r.status_code for r in replays] == [200, 200, 200]
    order.refresh_from_db()
    assert (order.status, order.paid_at) == (Order.Status.PAID, paid_at)
    assert PaymentEvent.objects.count() == 1
    assert len(mail.outbox) == 1


def test_replayed_refund_event_after_a_new_payment_does_not_refund_it(
    browser: Browser, order: Order
) -> None:
    intent = new_id("pi")
    deliver(browser, paid_event(order, payment_intent=intent))
    refund = event(
        "charge.refunded",
        charge_object(
            payment_intent=intent, amount=order.amount_total, amount_refunded=order.amount_total
        ),
    )
    deliver(browser, refund)
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED

    assert deliver(browser, refund).status_code == 200

    assert PaymentEvent.objects.filter(type="charge.refunded").count() == 1


def _refund_of(order: Order, intent: str, *, refunded: int) -> dict:
    return event(
        "charge.refunded",
        charge_object(payment_intent=intent, amount=order.amount_total, amount_refunded=refunded),
    )


def test_full_refund_that_arrived_before_its_payment_refunds_the_order_once_paid(
    browser: Browser, order: Order
) -> None:
    intent = new_id("pi")
    assert deliver(browser, _refund_of(order, intent, refunded=order.amount_total)).json() == {
        "detail": "unknown order"
    }

    assert deliver(browser, paid_event(order, payment_intent=intent)).status_code == 200

    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    refund = PaymentEvent.objects.get(type="charge.refunded")
    assert (refund.payment_id, refund.full_refund) == (intent, True)


def test_earlier_refund_of_another_payment_leaves_the_order_paid(
    browser: Browser, order: Order
) -> None:
    intent = new_id("pi")
    deliver(browser, _refund_of(order, new_id("pi"), refunded=order.amount_total))

    deliver(browser, paid_event(order, payment_intent=intent))

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.amount_refunded == 0


def test_earlier_partial_refund_is_applied_once_the_payment_lands(
    browser: Browser, order: Order
) -> None:
    intent = new_id("pi")
    deliver(browser, _refund_of(order, intent, refunded=100))

    deliver(browser, paid_event(order, payment_intent=intent))

    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED
    assert order.amount_refunded == 100


# -- handled types move the order along allowed transitions ----------------------------------


@dataclass(frozen=True)
class Move:
    start: str  # "pending", or "paid" through a completed event first
    make: Callable[[Order, str], dict]  # (order, its payment intent) → event
    end: str
    emails: int
    shown: str | None = None  # what My orders says afterwards


def _completed(order: Order, intent: str) -> dict:
    return paid_event(order, payment_intent=intent)


def _completed_unpaid(order: Order, intent: str) -> dict:
    # Bank debits: the session completes before the money arrives.
    return paid_event(order, payment_status="unpaid", payment_intent=intent)


def _async_succeeded(order: Order, intent: str) -> dict:
    obj = session_object(order, payment_intent=intent)
    return event("checkout.session.async_payment_succeeded", obj)


def _async_failed(order: Order, intent: str) -> dict:
    obj = session_object(order, payment_status="unpaid", payment_intent=intent)
    return event("checkout.session.async_payment_failed", obj)


def _expired(order: Order, intent: str) -> dict:
    obj = session_object(order, status="expired", payment_status="unpaid", email=None)
    return event("checkout.session.expired", obj)


def _refunded(order: Order, intent: str) -> dict:
    amount = order.amount_total
    return event(
        "charge.refunded",
        charge_object(payment_intent=intent, amount=amount, amount_refunded=amount),
    )


def _partly_refunded(order: Order, intent: str) -> dict:
    amount = order.amount_total
    return event(
        "charge.refunded",
        charge_object(payment_intent=intent, amount=amount, amount_refunded=amount // 2),
    )


PENDING, PAID = Order.Status.PENDING, Order.Status.PAID
MOVES: dict[str, Move] = {
    "completed and paid: pending → paid": Move(PENDING, _completed, PAID, 1, "Paid"),
    "completed but unpaid: stays pending": Move(
        PENDING, _completed_unpaid, PENDING, 0, "Awaiting payment confirmation"
    ),
    "async payment succeeded: pending → paid": Move(PENDING, _async_succeeded, PAID, 1, "Paid"),
    "async payment failed: pending → failed": Move(
        PENDING, _async_failed, Order.Status.FAILED, 0, "Payment declined"
    ),
    "async payment failed after paid: stays paid": Move(PAID, _async_failed, PAID, 1, "Paid"),
    "expired: pending → expired": Move(PENDING, _expired, Order.Status.EXPIRED, 0),
    "expired after paid: stays paid": Move(PAID, _expired, PAID, 1, "Paid"),
    "refunded: paid → refunded": Move(PAID, _refunded, Order.Status.REFUNDED, 1, "Refunded"),
    "refunded while pending: stays pending": Move(PENDING, _refunded, PENDING, 0),
    "partly refunded: paid → partially refunded": Move(
        PAID, _partly_refunded, Order.Status.PARTIALLY_REFUNDED, 1, "Partially refunded"
    ),
}


@pytest.mark.parametrize("move", MOVES.values(), ids=MOVES.keys())
def test_handled_event_moves_the_order_only_along_allowed_transitions(
    browser: Browser, order: Order, move: Move
) -> None:
    intent = new_id("pi")
    if move.start == PAID:
        deliver(browser, _completed(order, intent))
    order.refresh_from_db()
    assert order.status == move.start
    payload = move.make(order, intent)

    response = deliver(browser, payload)

    assert response.status_code == 200
    assert PaymentEvent.objects.filter(provider_event_id=payload["id"]).exists()
    order.refresh_from_db()
    assert order.status == move.end
    assert len(mail.outbox) == move.emails
    if move.shown is not None:
        listed = browser.shop_page().order(order.reference)
        assert listed is not None and move.shown in listed


def test_async_success_after_an_unpaid_completion_pays_once(browser: Browser, order: Order) -> None:
    intent = new_id("pi")
    deliver(browser, _completed_unpaid(order, intent))

    deliver(browser, _async_succeeded(order, intent))

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.payment_id == intent
    assert order.customer_email == "buyer@example.com"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["buyer@example.com"]


@pytest.mark.parametrize(
    "mismatch",
    [{"amount_total": 100}, {"currency": "eur"}],
    ids=["amount", "currency"],
)
def test_payment_that_does_not_match_the_order_leaves_it_pending_and_logs_an_error(
    browser: Browser, order: Order, shop_log: pytest.LogCaptureFixture, mismatch: dict
) -> None:
    response = deliver(browser, paid_event(order, **mismatch))

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert mail.outbox == []
    errors = [r.getMessage() for r in shop_log.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert order.reference in errors[0]


@pytest.mark.postgres  # SQLite does not enforce column lengths, so nothing fails there
def test_processing_error_rolls_back_and_answers_500_so_stripe_retries(
    browser: Browser, order: Order
) -> None:
    # A payment intent id longer than the column: the write fails after the event was
    # recorded and the order moved, and all of it must be undone.
    payload = paid_event(order, payment_intent="pi_" + "x" * 300)

    response = deliver(browser, payload)

    assert response.status_code == 500
    nothing_happened(order)
    # Stripe's retry of the same event id is not mistaken for a replay.
    payload["data"]["object"]["payment_intent"] = "pi_fine"
    assert deliver(browser, payload).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


@pytest.mark.parametrize("megabytes", [3, 10])
def test_oversized_delivery_gets_413_without_a_traceback_and_changes_nothing(
    browser: Browser, order: Order, shop_log: pytest.LogCaptureFixture, megabytes: int
) -> None:
    payload = paid_event(order)
    payload["data"]["object"]["metadata"]["padding"] = "x" * (megabytes * 1024 * 1024)

    response = deliver(browser, payload)

    assert response.status_code == 413
    assert "too large" in response.json()["error"]
    nothing_happened(order)
    assert [r.getMessage() for r in shop_log.records if r.exc_info] == []
