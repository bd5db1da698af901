"""Two gunicorn servers on one PostgreSQL database, paid through the fake Stripe.

What the server tests drive (a shopper's browser and Stripe's webhook deliveries, over real
HTTP) and what they count afterwards, across processes: orders and payment events in the
shared database (orders, their timelines, payment events), e-mails in the outbox folder.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from bs4 import BeautifulSoup

from shop.payments.signing import sign_payload
from tests.support.events import event
from tests.support.servers import AppServer, Outbox, ServerDatabase, wait_until
from tests.support.stripe_fake import FakeStripe

STRIPE_SECRET_KEY = "sk_test_reliability"
WEBHOOK_SECRET = "whsec_reliability"
# Bounded: a request that takes longer than this is a hang, not a slow answer.
REQUEST_TIMEOUT = 60
# How long a paid order's confirmation may take to go out after the webhook's answer.
EMAIL_SETTLE_SECONDS = 10
# How each worker names its database connections (site_config/settings/reliability.py).
WORKER_APPLICATION_NAME = "storefront-worker-{pid}"


def worker_application_names(server: AppServer) -> list[str]:
    return [WORKER_APPLICATION_NAME.format(pid=pid) for pid in server.worker_pids()]


def worker_pid_of(application_name: str) -> int:
    return int(application_name.removeprefix(WORKER_APPLICATION_NAME.format(pid="")))


@dataclass(frozen=True)
class ShopCluster:
    servers: tuple[AppServer, AppServer]
    database: ServerDatabase
    outbox: Outbox
    fake: FakeStripe
    # The servers' environment, for a test that starts a server of its own beside them.
    env: Mapping[str, str]

    def transitions(self, reference: str) -> int:
        """How many times any server moved this order pending → paid (from its timeline)."""
        return self.database.scalar(
            "SELECT count(*) FROM shop_orderevent e JOIN shop_order o ON e.order_id = o.id"
            " WHERE o.reference = %s AND e.old_status = 'pending' AND e.new_status = 'paid'",
            (reference,),
        )

    def timeline(self, reference: str) -> list[str]:
        """What happened to this order, oldest first: the kinds of its timeline entries."""
        rows = self.database.query(
            "SELECT e.kind FROM shop_orderevent e JOIN shop_order o ON e.order_id = o.id"
            " WHERE o.reference = %s ORDER BY e.created_at, e.id",
            (reference,),
        )
        return [kind for (kind,) in rows]

    def emails(self, reference: str) -> int:
        """Confirmation e-mails written for this order by any server.

        A server sends after its answer has gone out (or a worker is mid-send): for a
        paid order with an address, give the send a moment to finish before counting.
        """
        with contextlib.suppress(TimeoutError):
            wait_until(
                lambda: (
                    not self.database.scalar(
                        "SELECT count(*) FROM shop_order WHERE reference = %s"
                        " AND status IN ('paid', 'refunded') AND customer_email <> ''"
                        " AND confirmation_emailed_at IS NULL",
                        (reference,),
                    )
                ),
                timeout=EMAIL_SETTLE_SECONDS,
                what=f"order {reference}'s confirmation to be sent",
            )
        return self.outbox.subjects().count(f"Your order {reference} is confirmed")

    def order_status(self, reference: str) -> str:
        return self.database.scalar(
            "SELECT status FROM shop_order WHERE reference = %s", (reference,)
        )

    def payment_events(self, reference: str) -> int:
        return self.database.scalar(
            "SELECT count(*) FROM shop_paymentevent e JOIN shop_order o ON e.order_id = o.id"
            " WHERE o.reference = %s",
            (reference,),
        )

    def event_recorded(self, event_id: str) -> bool:
        return bool(
            self.database.scalar(
                "SELECT count(*) FROM shop_paymentevent WHERE provider_event_id = %s", (event_id,)
            )
        )


@dataclass(frozen=True)
class ShopForm:
    """The Buy form as the shop page rendered it."""

    checkout_token: str
    csrf_token: str
    quantity_fields: tuple[str, ...]  # "qty_<product pk>", in catalogue order

    def filled(self, *quantities: int) -> dict[str, str]:
        """Form data choosing ``quantities`` of the first products, as a browser posts it."""
        return {
            "csrfmiddlewaretoken": self.csrf_token,
            "checkout_token": self.checkout_token,
            **{field: str(q) for field, q in zip(self.quantity_fields, quantities, strict=False)},
        }


class RemoteShopper:
    """A guest's browser: one cookie jar (session, CSRF) used against either server.

    Sessions live in the database, so a session started on one server is the same shopper
    on the other; cookies for 127.0.0.1 go to every port, as a browser behind a load
    balancer sends them to whichever server it reaches.
    """

    def __init__(self) -> None:
        self.cookie_jar: dict[str, str] = {}

    def open_shop(self, server: AppServer) -> ShopForm:
        """GET the shop page: the guest session and CSRF cookies, and the Buy form."""
        response = requests.get(f"{server.url}/", cookies=self.cookies(), timeout=REQUEST_TIMEOUT)
        response.raise_for_status()
        self.cookie_jar.update(response.cookies.get_dict())
        page = BeautifulSoup(response.text, "html.parser")
        form = page.find("form", attrs={"data-buy-form": True})
        assert form is not None, "the shop page has no Buy form"
        return ShopForm(
            checkout_token=form.find("input", attrs={"name": "checkout_token"})["value"],
            csrf_token=form.find("input", attrs={"name": "csrfmiddlewaretoken"})["value"],
            quantity_fields=tuple(
                field["name"]
                for field in form.find_all("input")
                if field.get("name", "").startswith("qty_")
            ),
        )

    def cookies(self) -> dict[str, str]:
        return dict(self.cookie_jar)

    # Each request opens and closes its own connection with a copy of the cookies: safe from
    # many threads at once, and no idle keep-alive connection delays a server's shutdown.

    def buy(self, server: AppServer, data: Mapping[str, str]) -> requests.Response:
        """Press Buy on the form ``data`` (see :meth:`ShopForm.filled`)."""
        return requests.post(
            f"{server.url}/checkout/",
            data=data,
            cookies=self.cookies(),
            allow_redirects=False,
            timeout=REQUEST_TIMEOUT,
        )

    def visit(self, server: AppServer, path: str) -> requests.Response:
        return requests.get(
            f"{server.url}{path}",
            cookies=self.cookies(),
            allow_redirects=False,
            timeout=REQUEST_TIMEOUT,
        )


@dataclass(frozen=True)
class PlacedOrder:
    reference: str
    session_id: str
    shopper: RemoteShopper


def place_order(cluster: ShopCluster, server: AppServer) -> PlacedOrder:
    """A guest buys one of the first product on ``server`` and reaches the fake Stripe."""
    shopper = RemoteShopper()
    response = shopper.buy(server, shopper.open_shop(server).filled(1))
    assert response.status_code == 303, (response.status_code, response.text[:500])
    session_id = response.headers["Location"].rsplit("/", 1)[-1]
    reference = cluster.database.scalar(
        "SELECT reference FROM shop_order WHERE payment_session_id = %s", (session_id,)
    )
    assert reference, f"no order for session {session_id}"
    return PlacedOrder(reference=reference, session_id=session_id, shopper=shopper)


@dataclass(frozen=True)
class SignedEvent:
    id: str
    body: bytes
    signature: str


def signed_event(event_type: str, obj: Mapping[str, Any]) -> SignedEvent:
    """An event as Stripe signs it for our endpoint (valid for Stripe's 5-minute tolerance)."""
    payload = event(event_type, obj)
    body = json.dumps(payload).encode()
    return SignedEvent(payload["id"], body, sign_payload(body, WEBHOOK_SECRET))


def deliver(server: AppServer, signed: SignedEvent) -> requests.Response:
    """POST one delivery of ``signed`` to ``server``'s webhook endpoint, as Stripe does."""
    return requests.post(
        f"{server.url}/stripe/webhook/",
        data=signed.body,
        headers={"Content-Type": "application/json", "Stripe-Signature": signed.signature},
        timeout=REQUEST_TIMEOUT,
    )
