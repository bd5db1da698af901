"""What each scenario sends, and what it must get back.

A scenario is a list of requests the load generator replays (one repeated, or one fresh per
request where the app must see something new each time) and the answer every response
must be: a status and, for webhooks, the outcome named in the body.
"""

import json
import random
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from bench.load import Request
from shop.payments.signing import sign_payload
from shop.payments.stripe import STRIPE_API_VERSION


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    requests: list[Request]  # replayed in turn
    warmup: list[Request]  # sent first, one at a time, and checked
    expect_status: int
    expect_body: str = ""
    unique: bool = False  # every request must be sent once at most

    def limit(self, max_requests: int, connections: int) -> int:
        """Responses to stop after; unique requests keep a margin for those still in flight."""
        if self.unique:
            return max(1, min(max_requests, len(self.requests) - 2 * connections))
        return max_requests


@dataclass(frozen=True)
class Shopper:
    """The benchmark shopper's cookies, as a browser that loaded the shop page sends them."""

    session_key: str
    csrf_cookie: str
    csrf_form_token: str

    @property
    def cookie(self) -> str:
        return f"sessionid={self.session_key}; csrftoken={self.csrf_cookie}"


def _get(path: str, *, cookie: str = "") -> Request:
    headers = {"Accept": "text/html"}
    if cookie:
        headers["Cookie"] = cookie
    return Request("GET", path, headers)


def _repeated(key: str, title: str, request: Request, *, warmup: int) -> Scenario:
    return Scenario(key, title, [request], [request] * warmup, expect_status=200)


def ceiling(*, warmup: int) -> Scenario:
    return _repeated(
        "ceiling", "ceiling: the shop page's bytes", _get("/bench/ceiling/"), warmup=warmup
    )


def shop_anonymous(*, warmup: int) -> Scenario:
    return _repeated("shop_anonymous", "GET / anonymous", _get("/"), warmup=warmup)


def shop_shopper(shopper: Shopper, *, warmup: int) -> Scenario:
    request = _get("/", cookie=shopper.cookie)
    return _repeated("shop_shopper", "GET / as the shopper", request, warmup=warmup)


def orders_shopper(shopper: Shopper, *, warmup: int) -> Scenario:
    request = _get("/orders/", cookie=shopper.cookie)
    return _repeated("orders_shopper", "GET /orders/ as the shopper", request, warmup=warmup)


def checkout(
    shopper: Shopper,
    product_ids: list[int],
    *,
    count: int,
    warmup: int,
    seed: int = 7,
    key: str = "checkout",
    title: str = "POST /checkout/ (fake Stripe)",
) -> Scenario:
    """A Buy press per request: a fresh checkout token and 1–3 products, answered with 303.

    The same seed gives the same carts, so two runs of it differ only in what the server does.
    """
    rng = random.Random(seed)

    def press() -> Request:
        chosen = rng.sample(product_ids, rng.randint(1, min(3, len(product_ids))))
        fields = {
            "csrfmiddlewaretoken": shopper.csrf_form_token,
            "checkout_token": str(uuid.uuid4()),
            **{f"qty_{pk}": str(rng.randint(1, 3)) for pk in chosen},
        }
        headers = {
            "Cookie": shopper.cookie,
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "text/html",
        }
        return Request("POST", "/checkout/", headers, urlencode(fields).encode())

    return Scenario(
        key,
        title,
        [press() for _ in range(count)],
        [press() for _ in range(warmup)],
        expect_status=303,
        unique=True,
    )


def checkout_completed_event(pending: dict, event_id: str, *, created: int) -> bytes:
    """A ``checkout.session.completed`` event for one pending order, as Stripe sends it."""
    session = {
        "id": pending["session_id"],
        "object": "checkout.session",
        "mode": "payment",
        "status": "complete",
        "payment_status": "paid",
        "amount_subtotal": pending["amount_total"],
        "amount_total": pending["amount_total"],
        "currency": pending["currency"],
        "client_reference_id": pending["reference"],
        "metadata": {"order_reference": pending["reference"]},
        "payment_intent": f"pi_{event_id[4:]}",
        "customer_email": None,
        "customer_details": {"email": "buyer@example.com", "name": "Bench Buyer"},
        "expires_at": pending["expires_at"],
        "url": None,
        "livemode": False,
        "created": created,
    }
    event = {
        "id": event_id,
        "object": "event",
        "api_version": STRIPE_API_VERSION,
        "created": created,
        "livemode": False,
        "pending_webhooks": 1,
        "type": "checkout.session.completed",
        "data": {"object": session},
    }
    return json.dumps(event).encode()


def _webhook(body: bytes, secret: str) -> Request:
    headers = {"Content-Type": "application/json", "Stripe-Signature": sign_payload(body, secret)}
    return Request("POST", "/stripe/webhook/", headers, body)


def webhook_distinct(pending: list[dict], secret: str, *, warmup: int) -> Scenario:
    """One event per pending order; each pays its order. Signed now: Stripe allows 5 minutes."""
    now = int(time.time())
    requests = [
        _webhook(checkout_completed_event(order, f"evt_bench_{i:07d}", created=now), secret)
        for i, order in enumerate(pending)
    ]
    return Scenario(
        "webhook_distinct",
        "POST /stripe/webhook/ distinct events",
        requests[warmup:],
        requests[:warmup],
        expect_status=200,
        expect_body='"ok"',
        unique=True,
    )


def webhook_duplicate(pending: dict, secret: str, *, warmup: int) -> Scenario:
    """One event delivered again and again: recorded once, then answered as a duplicate."""
    now = int(time.time())
    request = _webhook(
        checkout_completed_event(pending, "evt_bench_duplicate", created=now), secret
    )
    return Scenario(
        "webhook_duplicate",
        "POST /stripe/webhook/ one event repeated",
        [request],
        [request] * warmup,
        expect_status=200,
        expect_body='"duplicate"',
    )
