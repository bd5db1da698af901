"""Stripe's events and the shopper's cancel, in every order and repeated.

Each row is a sequence of what happens to one order and the final state the rules require:
money Stripe confirms beats canceled and expired; refunded only ever follows paid (a refund
whose event arrives first is applied as soon as the payment's does); failed never overwrites
paid; at most one confirmation e-mail. Events go through the real webhook endpoint, signed;
the cancel goes through the real cancel page; the local gateway's session follows what
Stripe's would (paid when completed, expired when expired).

Actions: completed = checkout.session.completed (paid), succeeded =
checkout.session.async_payment_succeeded, failed = checkout.session.async_payment_failed,
expired = checkout.session.expired, refunded = charge.refunded (full), cancel = the shopper
leaves the payment page (GET /checkout/cancel/).

The product is stock-tracked: whatever the order of events, its units end held while the
order is pending, sold once it is paid (or refunded), and given back otherwise; and once the
session's time has run out and reconciliation has run, nothing is held.
"""

import datetime as dt
import json
import secrets
import uuid

import pytest
from django.core import mail
from django.db.models import F
from django.test import Client, TestCase

from shop.cart import cart_build
from shop.models import (
    Dispute,
    LocalCheckoutSession,
    Order,
    OrderEvent,
    PaymentEvent,
    Product,
    Refund,
    Source,
)
from shop.payments import webhook_secret
from shop.payments.signing import sign_payload
from shop.payments.stripe import STRIPE_API_VERSION
from shop.services.checkout import CheckoutUrls, checkout_session_open, order_place
from shop.services.fulfilment import stock_holds_release_lapsed
from shop.shoppers import GUEST_TOKEN_SESSION_KEY, Shopper
from shop.stock import stock_level
from tests.support.events import session_object
from tests.support.orders import local_pay

pytestmark = pytest.mark.django_db

# (sequence, final status, confirmation e-mails sent)
SEQUENCES = [
    ("completed completed", "paid", 1),
    ("completed succeeded", "paid", 1),
    ("completed failed", "paid", 1),
    ("completed expired", "paid", 1),
    ("completed refunded", "refunded", 1),
    ("completed cancel", "paid", 1),
    ("succeeded completed", "paid", 1),
    ("succeeded succeeded", "paid", 1),
    ("succeeded failed", "paid", 1),
    ("succeeded expired", "paid", 1),
    ("succeeded refunded", "refunded", 1),
    ("succeeded cancel", "paid", 1),
    ("failed completed", "paid", 1),
    ("failed succeeded", "paid", 1),
    ("failed failed", "failed", 0),
    ("failed expired", "failed", 0),
    ("failed refunded", "failed", 0),
    ("failed cancel", "failed", 0),
    ("expired completed", "paid", 1),
    ("expired succeeded", "paid", 1),
    ("expired failed", "expired", 0),
    ("expired expired", "expired", 0),
    ("expired refunded", "expired", 0),
    ("expired cancel", "expired", 0),
    ("refunded completed", "refunded", 1),
    ("refunded succeeded", "refunded", 1),
    ("refunded failed", "failed", 0),
    ("refunded expired", "expired", 0),
    ("refunded refunded", "pending", 0),
    ("refunded cancel", "canceled", 0),
    ("cancel completed", "paid", 1),
    ("cancel succeeded", "paid", 1),
    ("cancel failed", "canceled", 0),
    ("cancel expired", "canceled", 0),
    ("cancel refunded", "canceled", 0),
    ("cancel cancel", "canceled", 0),
    ("completed succeeded failed", "paid", 1),
    ("completed succeeded expired", "paid", 1),
    ("completed succeeded refunded", "refunded", 1),
    ("completed succeeded cancel", "paid", 1),
    ("completed failed succeeded", "paid", 1),
    ("completed failed expired", "paid", 1),
    ("completed failed refunded", "refunded", 1),
    ("completed failed cancel", "paid", 1),
    ("completed expired succeeded", "paid", 1),
    ("completed expired failed", "paid", 1),
    ("completed expired refunded", "refunded", 1),
    ("completed expired cancel", "paid", 1),
    ("completed refunded succeeded", "refunded", 1),
    ("completed refunded failed", "refunded", 1),
    ("completed refunded expired", "refunded", 1),
    ("completed refunded cancel", "refunded", 1),
    ("completed cancel succeeded", "paid", 1),
    ("completed cancel failed", "paid", 1),
    ("completed cancel expired", "paid", 1),
    ("completed cancel refunded", "refunded", 1),
    ("succeeded completed failed", "paid", 1),
    ("succeeded completed expired", "paid", 1),
    ("succeeded completed refunded", "refunded", 1),
    ("succeeded completed cancel", "paid", 1),
    ("succeeded failed completed", "paid", 1),
    ("succeeded failed expired", "paid", 1),
    ("succeeded failed refunded", "refunded", 1),
    ("succeeded failed cancel", "paid", 1),
    ("succeeded expired completed", "paid", 1),
    ("succeeded expired failed", "paid", 1),
    ("succeeded expired refunded", "refunded", 1),
    ("succeeded expired cancel", "paid", 1),
    ("succeeded refunded completed", "refunded", 1),
    ("succeeded refunded failed", "refunded", 1),
    ("succeeded refunded expired", "refunded", 1),
    ("succeeded refunded cancel", "refunded", 1),
    ("succeeded cancel completed", "paid", 1),
    ("succeeded cancel failed", "paid", 1),
    ("succeeded cancel expired", "paid", 1),
    ("succeeded cancel refunded", "refunded", 1),
    ("failed completed succeeded", "paid", 1),
    ("failed completed expired", "paid", 1),
    ("failed completed refunded", "refunded", 1),
    ("failed completed cancel", "paid", 1),
    ("failed succeeded completed", "paid", 1),
    ("failed succeeded expired", "paid", 1),
    ("failed succeeded refunded", "refunded", 1),
    ("failed succeeded cancel", "paid", 1),
    ("failed expired completed", "paid", 1),
    ("failed expired succeeded", "paid", 1),
    ("failed expired refunded", "failed", 0),
    ("failed expired cancel", "failed", 0),
    ("failed refunded completed", "refunded", 1),
    ("failed refunded succeeded", "refunded", 1),
    ("failed refunded expired", "failed", 0),
    ("failed refunded cancel", "failed", 0),
    ("failed cancel completed", "paid", 1),
    ("failed cancel succeeded", "paid", 1),
    ("failed cancel expired", "failed", 0),
    ("failed cancel refunded", "failed", 0),
    ("expired completed succeeded", "paid", 1),
    ("expired completed failed", "paid", 1),
    ("expired completed refunded", "refunded", 1),
    ("expired completed cancel", "paid", 1),
    ("expired succeeded completed", "paid", 1),
    ("expired succeeded failed", "paid", 1),
    ("expired succeeded refunded", "refunded", 1),
    ("expired succeeded cancel", "paid", 1),
    ("expired failed completed", "paid", 1),
    ("expired failed succeeded", "paid", 1),
    ("expired failed refunded", "expired", 0),
    ("expired failed cancel", "expired", 0),
    ("expired refunded completed", "refunded", 1),
    ("expired refunded succeeded", "refunded", 1),
    ("expired refunded failed", "expired", 0),
    ("expired refunded cancel", "expired", 0),
    ("expired cancel completed", "paid", 1),
    ("expired cancel succeeded", "paid", 1),
    ("expired cancel failed", "expired", 0),
    ("expired cancel refunded", "expired", 0),
    ("refunded completed succeeded", "refunded", 1),
    ("refunded completed failed", "refunded", 1),
    ("refunded completed expired", "refunded", 1),
    ("refunded completed cancel", "refunded", 1),
    ("refunded succeeded completed", "refunded", 1),
    ("refunded succeeded failed", "refunded", 1),
    ("refunded succeeded expired", "refunded", 1),
    ("refunded succeeded cancel", "refunded", 1),
    ("refunded failed completed", "refunded", 1),
    ("refunded failed succeeded", "refunded", 1),
    ("refunded failed expired", "failed", 0),
    ("refunded failed cancel", "failed", 0),
    ("refunded expired completed", "refunded", 1),
    ("refunded expired succeeded", "refunded", 1),
    ("refunded expired failed", "expired", 0),
    ("refunded expired cancel", "expired", 0),
    ("refunded cancel completed", "refunded", 1),
    ("refunded cancel succeeded", "refunded", 1),
    ("refunded cancel failed", "canceled", 0),
    ("refunded cancel expired", "canceled", 0),
    ("cancel completed succeeded", "paid", 1),
    ("cancel completed failed", "paid", 1),
    ("cancel completed expired", "paid", 1),
    ("cancel completed refunded", "refunded", 1),
    ("cancel succeeded completed", "paid", 1),
    ("cancel succeeded failed", "paid", 1),
    ("cancel succeeded expired", "paid", 1),
    ("cancel succeeded refunded", "refunded", 1),
    ("cancel failed completed", "paid", 1),
    ("cancel failed succeeded", "paid", 1),
    ("cancel failed expired", "canceled", 0),
    ("cancel failed refunded", "canceled", 0),
    ("cancel expired completed", "paid", 1),
    ("cancel expired succeeded", "paid", 1),
    ("cancel expired failed", "canceled", 0),
    ("cancel expired refunded", "canceled", 0),
    ("cancel refunded completed", "refunded", 1),
    ("cancel refunded succeeded", "refunded", 1),
    ("cancel refunded failed", "canceled", 0),
    ("cancel refunded expired", "canceled", 0),
]

PAYMENT_INTENT = "pi_test_sequence"
STOCK = 5
UNITS = 2  # what the scenario's order buys


class Scenario:
    """One guest's pending order with an open (local gateway) checkout session."""

    def __init__(self, products):
        token = secrets.token_urlsafe(16)
        self.product = products[0]
        Product.objects.filter(pk=self.product.pk).update(stock=STOCK)
        self.browser = Client()
        session = self.browser.session
        session[GUEST_TOKEN_SESSION_KEY] = token
        session.save()
        cart = cart_build(
            checkout_token=uuid.uuid4(),
            fields={f"qty_{products[0].pk}": str(UNITS)},
            max_quantity=10,
        )
        self.order = order_place(cart=cart, shopper=Shopper(user_id=None, guest_token=token))
        urls = CheckoutUrls(
            success_url="http://testserver/checkout/success/?session_id={CHECKOUT_SESSION_ID}",
            cancel_url_base="http://testserver/checkout/cancel/",
        )
        self.session_id = checkout_session_open(order=self.order, urls=urls).id
        self.sent: list[tuple[bytes, str]] = []

    def _session_object(self, *, status: str, payment_status: str) -> dict:
        paid = payment_status == "paid"
        return session_object(
            self.order,
            status=status,
            payment_status=payment_status,
            email="shopper@example.com" if paid else None,
            payment_intent=PAYMENT_INTENT if paid else None,
            session_id=self.session_id,
        )

    def _deliver(self, event_type: str, obj: dict) -> None:
        event = {
            "id": f"evt_{secrets.token_hex(8)}",
            "object": "event",
            "api_version": STRIPE_API_VERSION,
            "type": event_type,
            "data": {"object": obj},
        }
        body = json.dumps(event).encode()
        self.sent.append((body, event_type))
        self._post(body)

    def _post(self, body: bytes) -> None:
        with TestCase.captureOnCommitCallbacks(execute=True):
            response = Client().post(
                "/stripe/webhook/",
                body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=sign_payload(body, webhook_secret()),
            )
        assert response.status_code == 200, response.content

    def _gateway_session(self, **fields) -> None:
        LocalCheckoutSession.objects.filter(pk=self.session_id).update(**fields)

    def apply(self, action: str) -> None:
        if action in ("completed", "succeeded"):
            # Paid at the gateway with an address and the first rate, whatever state it was in.
            self._gateway_session(status="open")
            local_pay(self.session_id)
            self._gateway_session(payment_id="")
            event_type = {
                "completed": "checkout.session.completed",
                "succeeded": "checkout.session.async_payment_succeeded",
            }[action]
            self._deliver(
                event_type, self._session_object(status="complete", payment_status="paid")
            )
        elif action == "failed":
            obj = self._session_object(status="complete", payment_status="unpaid")
            self._deliver("checkout.session.async_payment_failed", obj)
        elif action == "expired":
            self._gateway_session(status="expired")
            obj = self._session_object(status="expired", payment_status="unpaid")
            self._deliver("checkout.session.expired", obj)
        elif action == "refunded":
            charge = {
                "id": "ch_test_sequence",
                "object": "charge",
                "payment_intent": PAYMENT_INTENT,
                "amount_refunded": self.order.amount_total,
                "refunded": True,
            }
            self._deliver("charge.refunded", charge)
        elif action == "cancel":
            with TestCase.captureOnCommitCallbacks(execute=True):
                response = self.browser.get(f"/checkout/cancel/?order={self.order.reference}")
            assert response.status_code == 302
        else:  # pragma: no cover - a typo in the table
            raise AssertionError(action)

    def replay_all(self) -> None:
        """Stripe delivers every event again (same ids): nothing may change."""
        for body, _ in self.sent:
            self._post(body)

    def status(self) -> str:
        self.order.refresh_from_db()
        return self.order.status

    def held_and_sold(self) -> tuple[int, int]:
        level = stock_level(self.product.pk)
        assert level.available == STOCK - level.held - level.sold
        return level.held, level.sold

    def session_time_runs_out(self) -> None:
        """The hold's time (session expiry plus margin) passes and reconciliation runs."""
        self.order.lines.update(held_until=F("held_until") - dt.timedelta(hours=2))
        stock_holds_release_lapsed(source=Source.reconciliation())

    def stock_entries(self) -> list[str]:
        kinds = (OrderEvent.Kind.STOCK_HELD, OrderEvent.Kind.STOCK_RELEASED)
        kinds += (OrderEvent.Kind.STOCK_SOLD, OrderEvent.Kind.OVERSOLD)
        return list(self.order.timeline.filter(kind__in=kinds).values_list("kind", flat=True))


def expected_stock(final: str) -> tuple[int, int]:
    """(held, sold) the final status requires."""
    if final in ("paid", "refunded"):
        return 0, UNITS
    if final == "pending":
        return UNITS, 0
    return 0, 0


@pytest.mark.parametrize(("sequence", "final", "emails"), SEQUENCES, ids=[s[0] for s in SEQUENCES])
def test_events_in_any_order_end_in_the_state_the_rules_require(shop, sequence, final, emails):
    scenario = Scenario(list(Product.objects.for_sale()))

    for action in sequence.split():
        scenario.apply(action)

    assert scenario.status() == final
    assert len(mail.outbox) == emails

    scenario.replay_all()

    assert scenario.status() == final
    assert len(mail.outbox) == emails
    assert PaymentEvent.objects.count() == len(scenario.sent)
    assert scenario.held_and_sold() == expected_stock(final)
    entries = scenario.stock_entries()
    # One hold, then at most one release and one sale; an oversold flag never without a sale.
    assert entries[0] == OrderEvent.Kind.STOCK_HELD
    assert entries.count(OrderEvent.Kind.STOCK_HELD) == 1
    assert entries.count(OrderEvent.Kind.STOCK_RELEASED) <= 1
    assert entries.count(OrderEvent.Kind.STOCK_SOLD) == (1 if expected_stock(final)[1] else 0)

    scenario.session_time_runs_out()

    assert scenario.held_and_sold() == (0, expected_stock(final)[1])
    assert scenario.status() == final


def test_the_table_covers_every_pair_and_every_ordered_triple():
    actions = {"completed", "succeeded", "failed", "expired", "refunded", "cancel"}
    rows = {row[0] for row in SEQUENCES}
    assert len(rows) == len(SEQUENCES) == 6 * 6 + 6 * 5 * 4
    assert all(set(row.split()) <= actions for row in rows)
    assert Order.Status.PAID in {row[1] for row in SEQUENCES}


# -- disputes (charge.dispute.created / updated / closed) against the payment -------------
#
# completed = checkout.session.completed (paid); created, updated and closed = the one
# dispute's events, which Stripe stamps in that order (needs_response, under_review, won),
# whatever order they are delivered in. A dispute before the payment is kept and joins the
# order when it is paid (one timeline entry then), one after it adds one entry per event;
# the support address hears once per dispute; replaying everything changes nothing.

# (sequence, final status, dispute status, dispute entries on the order's timeline)
DISPUTE_SEQUENCES = [
    ("completed completed", "paid", "none", 0),
    ("completed created", "paid", "needs_response", 1),
    ("completed updated", "paid", "under_review", 1),
    ("completed closed", "paid", "won", 1),
    ("created completed", "paid", "needs_response", 1),
    ("created created", "pending", "needs_response", 0),
    ("created updated", "pending", "under_review", 0),
    ("created closed", "pending", "won", 0),
    ("updated completed", "paid", "under_review", 1),
    ("updated created", "pending", "under_review", 0),
    ("updated updated", "pending", "under_review", 0),
    ("updated closed", "pending", "won", 0),
    ("closed completed", "paid", "won", 1),
    ("closed created", "pending", "won", 0),
    ("closed updated", "pending", "won", 0),
    ("closed closed", "pending", "won", 0),
    ("completed created updated", "paid", "under_review", 2),
    ("completed created closed", "paid", "won", 2),
    ("completed updated created", "paid", "under_review", 2),
    ("completed updated closed", "paid", "won", 2),
    ("completed closed created", "paid", "won", 2),
    ("completed closed updated", "paid", "won", 2),
    ("created completed updated", "paid", "under_review", 2),
    ("created completed closed", "paid", "won", 2),
    ("created updated completed", "paid", "under_review", 1),
    ("created updated closed", "pending", "won", 0),
    ("created closed completed", "paid", "won", 1),
    ("created closed updated", "pending", "won", 0),
    ("updated completed created", "paid", "under_review", 2),
    ("updated completed closed", "paid", "won", 2),
    ("updated created completed", "paid", "under_review", 1),
    ("updated created closed", "pending", "won", 0),
    ("updated closed completed", "paid", "won", 1),
    ("updated closed created", "pending", "won", 0),
    ("closed completed created", "paid", "won", 2),
    ("closed completed updated", "paid", "won", 2),
    ("closed created completed", "paid", "won", 1),
    ("closed created updated", "pending", "won", 0),
    ("closed updated completed", "paid", "won", 1),
    ("closed updated created", "pending", "won", 0),
]

DISPUTE_STEPS = {
    # action: (Stripe's event type, dispute status, seconds after the dispute was opened)
    "created": ("charge.dispute.created", "needs_response", 0),
    "updated": ("charge.dispute.updated", "under_review", 60),
    "closed": ("charge.dispute.closed", "won", 120),
}
DISPUTE_KINDS = (
    OrderEvent.Kind.DISPUTE_OPENED,
    OrderEvent.Kind.DISPUTE_UPDATED,
    OrderEvent.Kind.DISPUTE_CLOSED,
)


class DisputeScenario(Scenario):
    """The scenario's order, paid or not, and one dispute on its payment."""

    opened = 1_900_000_000

    def apply(self, action: str) -> None:
        if action not in DISPUTE_STEPS:
            return super().apply(action)
        event_type, status, after = DISPUTE_STEPS[action]
        dispute = {
            "id": "dp_test_sequence",
            "object": "dispute",
            "amount": self.order.amount_total,
            "currency": self.order.currency,
            "payment_intent": PAYMENT_INTENT,
            "reason": "product_not_received",
            "status": status,
            "evidence_details": {"due_by": self.opened + 7 * 86400},
        }
        event = {
            "id": f"evt_{secrets.token_hex(8)}",
            "object": "event",
            "api_version": STRIPE_API_VERSION,
            "created": self.opened + after,
            "type": event_type,
            "data": {"object": dispute},
        }
        body = json.dumps(event).encode()
        self.sent.append((body, event_type))
        self._post(body)

    def dispute_status(self) -> str:
        dispute = Dispute.objects.filter(provider_dispute_id="dp_test_sequence").first()
        return dispute.status if dispute else "none"

    def dispute_entries(self) -> int:
        return self.order.timeline.filter(kind__in=DISPUTE_KINDS).count()


def _notices() -> int:
    return sum(m.subject.startswith("Dispute opened") for m in mail.outbox)


@pytest.mark.parametrize(
    ("sequence", "final", "dispute_status", "entries"),
    DISPUTE_SEQUENCES,
    ids=[s[0] for s in DISPUTE_SEQUENCES],
)
def test_disputes_in_any_order_with_the_payment_end_recorded_once(
    shop, sequence, final, dispute_status, entries
):
    scenario = DisputeScenario(list(Product.objects.for_sale()))
    disputed = dispute_status != "none"

    for action in sequence.split():
        scenario.apply(action)
    scenario.replay_all()

    assert scenario.status() == final
    assert scenario.dispute_status() == dispute_status
    assert scenario.dispute_entries() == entries
    assert _notices() == (1 if disputed else 0)
    assert len(mail.outbox) - _notices() == (1 if final == "paid" else 0)
    assert PaymentEvent.objects.count() == len(scenario.sent)
    if disputed:
        dispute = Dispute.objects.get()
        assert dispute.order_id == (scenario.order.pk if final == "paid" else None)
        assert dispute.is_open == (dispute_status != "won")
        assert (dispute.closed_at is None) == dispute.is_open


def test_the_dispute_table_covers_every_pair_and_every_ordered_triple():
    actions = {"completed", *DISPUTE_STEPS}
    rows = {row[0] for row in DISPUTE_SEQUENCES}
    assert len(rows) == len(DISPUTE_SEQUENCES) == 4 * 4 + 4 * 3 * 2
    assert all(set(row.split()) <= actions for row in rows)


# -- Partial refunds (slice C): a refund and the charge's cumulative figure, in any order ----
#
# Actions besides completed and failed: partial = refund.created for a third of the total,
# made in the Dashboard (succeeded, no metadata of ours); charge = charge.refunded saying that
# third has gone back (cumulative, refunded false); rest = charge.refunded saying all of it
# has (refunded true). The refund and the charge describe the same money: together they
# are a third, not two. A refund before the payment applies once the payment lands; an order
# never paid is never refunded. E-mails: the confirmation, and one per refund recorded.

# (sequence, final status, refunded: none | part | all, e-mails sent)
PARTIAL_SEQUENCES = [
    ("completed completed", "paid", "none", 1),
    ("completed partial", "partially_refunded", "part", 2),
    ("completed charge", "partially_refunded", "part", 1),
    ("completed rest", "refunded", "all", 1),
    ("completed failed", "paid", "none", 1),
    ("partial completed", "partially_refunded", "part", 2),
    ("partial partial", "pending", "none", 0),
    ("partial charge", "pending", "none", 0),
    ("partial rest", "pending", "none", 0),
    ("partial failed", "failed", "none", 0),
    ("charge completed", "partially_refunded", "part", 1),
    ("charge partial", "pending", "none", 0),
    ("charge charge", "pending", "none", 0),
    ("charge rest", "pending", "none", 0),
    ("charge failed", "failed", "none", 0),
    ("rest completed", "refunded", "all", 1),
    ("rest partial", "pending", "none", 0),
    ("rest charge", "pending", "none", 0),
    ("rest rest", "pending", "none", 0),
    ("rest failed", "failed", "none", 0),
    ("failed completed", "paid", "none", 1),
    ("failed partial", "failed", "none", 0),
    ("failed charge", "failed", "none", 0),
    ("failed rest", "failed", "none", 0),
    ("failed failed", "failed", "none", 0),
    ("completed partial charge", "partially_refunded", "part", 2),
    ("completed partial rest", "refunded", "all", 2),
    ("completed partial failed", "partially_refunded", "part", 2),
    ("completed charge partial", "partially_refunded", "part", 2),
    ("completed charge rest", "refunded", "all", 1),
    ("completed charge failed", "partially_refunded", "part", 1),
    ("completed rest partial", "refunded", "all", 2),
    ("completed rest charge", "refunded", "all", 1),
    ("completed rest failed", "refunded", "all", 1),
    ("completed failed partial", "partially_refunded", "part", 2),
    ("completed failed charge", "partially_refunded", "part", 1),
    ("completed failed rest", "refunded", "all", 1),
    ("partial completed charge", "partially_refunded", "part", 2),
    ("partial completed rest", "refunded", "all", 2),
    ("partial completed failed", "partially_refunded", "part", 2),
    ("partial charge completed", "partially_refunded", "part", 2),
    ("partial charge rest", "pending", "none", 0),
    ("partial charge failed", "failed", "none", 0),
    ("partial rest completed", "refunded", "all", 2),
    ("partial rest charge", "pending", "none", 0),
    ("partial rest failed", "failed", "none", 0),
    ("partial failed completed", "partially_refunded", "part", 2),
    ("partial failed charge", "failed", "none", 0),
    ("partial failed rest", "failed", "none", 0),
    ("charge completed partial", "partially_refunded", "part", 2),
    ("charge completed rest", "refunded", "all", 1),
    ("charge completed failed", "partially_refunded", "part", 1),
    ("charge partial completed", "partially_refunded", "part", 2),
    ("charge partial rest", "pending", "none", 0),
    ("charge partial failed", "failed", "none", 0),
    ("charge rest completed", "refunded", "all", 1),
    ("charge rest partial", "pending", "none", 0),
    ("charge rest failed", "failed", "none", 0),
    ("charge failed completed", "partially_refunded", "part", 1),
    ("charge failed partial", "failed", "none", 0),
    ("charge failed rest", "failed", "none", 0),
    ("rest completed partial", "refunded", "all", 2),
    ("rest completed charge", "refunded", "all", 1),
    ("rest completed failed", "refunded", "all", 1),
    ("rest partial completed", "refunded", "all", 2),
    ("rest partial charge", "pending", "none", 0),
    ("rest partial failed", "failed", "none", 0),
    ("rest charge completed", "refunded", "all", 1),
    ("rest charge partial", "pending", "none", 0),
    ("rest charge failed", "failed", "none", 0),
    ("rest failed completed", "refunded", "all", 1),
    ("rest failed partial", "failed", "none", 0),
    ("rest failed charge", "failed", "none", 0),
    ("failed completed partial", "partially_refunded", "part", 2),
    ("failed completed charge", "partially_refunded", "part", 1),
    ("failed completed rest", "refunded", "all", 1),
    ("failed partial completed", "partially_refunded", "part", 2),
    ("failed partial charge", "failed", "none", 0),
    ("failed partial rest", "failed", "none", 0),
    ("failed charge completed", "partially_refunded", "part", 1),
    ("failed charge partial", "failed", "none", 0),
    ("failed charge rest", "failed", "none", 0),
    ("failed rest completed", "refunded", "all", 1),
    ("failed rest partial", "failed", "none", 0),
    ("failed rest charge", "failed", "none", 0),
]
PARTIAL_REFUND_ID = "re_test_sequence"


class PartialRefundScenario(Scenario):
    def charged(self) -> int:
        """What the completed session charges: the lines and the shipping."""
        return self._session_object(status="complete", payment_status="paid")["amount_total"]

    def part(self) -> int:
        return self.charged() // 3

    def apply(self, action: str) -> None:
        if action == "partial":
            refund = {
                "id": PARTIAL_REFUND_ID,
                "object": "refund",
                "amount": self.part(),
                "currency": self.order.currency,
                "payment_intent": PAYMENT_INTENT,
                "status": "succeeded",
                "metadata": {},
            }
            self._deliver("refund.created", refund)
        elif action in ("charge", "rest"):
            amount = self.part() if action == "charge" else self.charged()
            charge = {
                "id": "ch_test_sequence",
                "object": "charge",
                "amount": self.charged(),
                "payment_intent": PAYMENT_INTENT,
                "amount_refunded": amount,
                "refunded": action == "rest",
            }
            self._deliver("charge.refunded", charge)
        else:
            super().apply(action)


@pytest.mark.parametrize(
    ("sequence", "final", "refunded", "emails"),
    PARTIAL_SEQUENCES,
    ids=[s[0] for s in PARTIAL_SEQUENCES],
)
def test_partial_refunds_in_any_order_end_with_the_amount_the_provider_reported(
    shop, sequence, final, refunded, emails
):
    scenario = PartialRefundScenario(list(Product.objects.for_sale()))
    amounts = {"none": 0, "part": scenario.part(), "all": scenario.charged()}

    for action in sequence.split():
        scenario.apply(action)
    scenario.replay_all()

    assert scenario.status() == final
    assert scenario.order.amount_refunded == amounts[refunded]
    assert len(mail.outbox) == emails
    # The Dashboard's refund is one record, however often and whenever it was told.
    assert Refund.objects.filter(provider_refund_id=PARTIAL_REFUND_ID).count() == (
        1 if "partial" in sequence else 0
    )
    status_entries = scenario.order.timeline.exclude(new_status="").values_list(
        "new_status", flat=True
    )
    assert len(status_entries) == len(set(status_entries))


def test_the_partial_refund_table_covers_every_pair_and_every_ordered_triple():
    actions = {"completed", "partial", "charge", "rest", "failed"}
    rows = {row[0] for row in PARTIAL_SEQUENCES}
    assert len(rows) == len(PARTIAL_SEQUENCES) == 5 * 5 + 5 * 4 * 3
    assert all(set(row.split()) <= actions for row in rows)
