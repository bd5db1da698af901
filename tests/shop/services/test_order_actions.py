"""An operator's actions on an order: cancel an unpaid one, send the confirmation again, add
an internal note. Each is refused, changing nothing, where it does not apply; each change
is on the timeline with the operator as its source."""

import datetime as dt

import pytest
from django.core import mail
from django.test import TestCase, override_settings
from django.utils import timezone

from shop import tasks
from shop.models import Order, OrderEvent, Product
from shop.services import fulfilment
from shop.services.order_actions import (
    NOTE_MAX_LENGTH,
    RESEND_WINDOW,
    CancelOutcome,
    OrderActionRefused,
    order_cancel_unpaid,
    order_confirmation_resend_request,
    order_note_add,
)
from shop.services.reconciliation import payments_reconcile
from shop.stock import stock_level
from shop.tasks import order_confirmation_resend
from tests.support.mail_backends import FlakyBackend
from tests.support.orders import order_checkout, order_make, session_reported
from tests.support.shopper import Browser
from tests.support.stripe_fake import FakeStripe

pytestmark = pytest.mark.django_db

S = Order.Status
K = OrderEvent.Kind


def stocked(product: Product, units: int) -> Product:
    Product.objects.filter(pk=product.pk).update(stock=units)
    return product


def expire_requests(fake: FakeStripe, session_id: str) -> list:
    path = f"/v1/checkout/sessions/{session_id}/expire"
    return [r for r in fake.requests if r.method == "POST" and r.path == path]


def paid_order(email: str = "ada@example.com") -> Order:
    """A paid order whose automatic confirmation has gone out."""
    order, _ = order_checkout({Product.objects.get(slug="stoneware-mug"): 1}, email=email)
    with TestCase.captureOnCommitCallbacks(execute=True):
        fulfilment.order_fulfil(
            session=session_reported(order, paid=True), source=fulfilment.Source.system()
        )
    order.refresh_from_db()
    assert order.confirmation_emailed_at is not None
    return order


# -- cancel -----------------------------------------------------------------------------


def test_cancel_expires_the_session_at_stripe_releases_held_stock_and_names_the_operator(
    fake, shop, mug, manager
):
    stocked(mug, 5)
    order, session = order_checkout({mug: 2})
    assert stock_level(mug.pk).held == 2

    outcome = order_cancel_unpaid(order=order, user=manager)

    assert outcome is CancelOutcome.CANCELED
    assert fake.sessions[session.id]["status"] == "expired"
    assert len(expire_requests(fake, session.id)) == 1
    order.refresh_from_db()
    assert order.status == S.CANCELED
    assert (stock_level(mug.pk).held, stock_level(mug.pk).available) == (0, 5)
    moved = order.timeline.get(kind=K.STATUS_CHANGED)
    assert (moved.old_status, moved.new_status, moved.user) == (S.PENDING, S.CANCELED, manager)
    released = order.timeline.get(kind=K.STOCK_RELEASED)
    assert released.user == manager


def test_cancel_of_a_session_paid_just_before_ends_paid_not_canceled(fake, shop, mug, manager):
    stocked(mug, 5)
    order, session = order_checkout({mug: 1})
    fake.complete_session(session.id, customer_email="late@example.com")

    with TestCase.captureOnCommitCallbacks(execute=True):
        outcome = order_cancel_unpaid(order=order, user=manager)

    assert outcome is CancelOutcome.PAID_MEANWHILE
    order.refresh_from_db()
    assert order.status == S.PAID
    assert stock_level(mug.pk).sold == 1
    assert not order.timeline.filter(new_status=S.CANCELED).exists()
    assert [m.to for m in mail.outbox] == [["late@example.com"]]


def test_cancel_while_stripe_is_down_is_refused_and_changes_nothing(fake, shop, mug, manager):
    stocked(mug, 5)
    order, session = order_checkout({mug: 1})
    fake.inject_fault(503)
    entries = order.timeline.count()

    with pytest.raises(OrderActionRefused, match="could still pay"):
        order_cancel_unpaid(order=order, user=manager)

    order.refresh_from_db()
    assert order.status == S.PENDING
    assert order.timeline.count() == entries
    assert stock_level(mug.pk).held == 1
    assert fake.sessions[session.id]["status"] == "open"


@pytest.mark.parametrize("status", [S.PAID, S.FAILED, S.CANCELED, S.EXPIRED, S.REFUNDED])
def test_cancel_of_an_order_that_is_not_pending_is_refused_and_asks_no_gateway(
    fake, shop, manager, status
):
    order = order_make(status=status, session_id="cs_test_settled")

    with pytest.raises(OrderActionRefused, match="only a pending, unpaid order"):
        order_cancel_unpaid(order=order, user=manager)

    assert fake.requests == []
    order.refresh_from_db()
    assert order.status == status
    assert not order.timeline.exists()


def test_a_payment_arriving_after_an_admin_cancel_still_makes_the_order_paid(shop, mug, manager):
    order, _ = order_checkout({mug: 1})
    order_cancel_unpaid(order=order, user=manager)

    fulfilment.order_fulfil(
        session=session_reported(order, paid=True),
        source=fulfilment.Source.provider_event("evt_late"),
    )

    order.refresh_from_db()
    assert order.status == S.PAID


# -- resend the confirmation -------------------------------------------------------------


def test_resend_sends_the_confirmation_once_more_and_records_who_asked(shop, manager):
    order = paid_order()
    mail.outbox.clear()

    with TestCase.captureOnCommitCallbacks(execute=True):
        order_confirmation_resend_request(order=order, user=manager)

    (message,) = mail.outbox
    assert message.to == ["ada@example.com"]
    assert order.reference in message.subject
    asked = order.timeline.get(kind=K.EMAIL_RESEND_REQUESTED)
    assert asked.user == manager
    sent = list(order.timeline.filter(kind=K.EMAIL_SENT).values_list("message", flat=True))
    assert sent == ["Order confirmation", "Order confirmation (sent again)"]
    # Mail clients drop a message whose Message-ID they have seen: the resend has its own.
    first_id = f"<order-{order.reference}.confirmation@localhost>"
    assert message.extra_headers["Message-ID"] != first_id


def test_a_second_resend_within_the_window_is_refused_and_sends_nothing(shop, manager):
    order = paid_order()
    mail.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        order_confirmation_resend_request(order=order, user=manager)

    with (
        pytest.raises(OrderActionRefused, match="already asked for"),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        order_confirmation_resend_request(order=order, user=manager)

    assert len(mail.outbox) == 1
    assert order.timeline.filter(kind=K.EMAIL_RESEND_REQUESTED).count() == 1


def test_a_resend_after_the_window_sends_again(shop, manager):
    order = paid_order()
    mail.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        order_confirmation_resend_request(order=order, user=manager)
    OrderEvent.objects.filter(order=order, kind=K.EMAIL_RESEND_REQUESTED).update(
        created_at=timezone.now() - RESEND_WINDOW - dt.timedelta(seconds=1)
    )

    with TestCase.captureOnCommitCallbacks(execute=True):
        order_confirmation_resend_request(order=order, user=manager)

    assert len(mail.outbox) == 2


def test_a_resend_task_run_twice_sends_once(shop, manager):
    order = paid_order()
    mail.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=False):
        order_confirmation_resend_request(order=order, user=manager)

    assert order_confirmation_resend.call(order.pk) is True
    assert order_confirmation_resend.call(order.pk) is False
    assert len(mail.outbox) == 1


def test_resend_before_the_automatic_confirmation_went_out_sends_that_one_only(shop, manager):
    order = order_make(status=S.PAID, email="ada@example.com", session_id="cs_test_x")

    with TestCase.captureOnCommitCallbacks(execute=True):
        order_confirmation_resend_request(order=order, user=manager)

    assert len(mail.outbox) == 1
    order.refresh_from_db()
    assert order.confirmation_emailed_at is not None
    assert list(order.timeline.filter(kind=K.EMAIL_SENT).values_list("message", flat=True)) == [
        "Order confirmation"
    ]


@pytest.mark.parametrize("status", [S.PENDING, S.FAILED, S.CANCELED, S.EXPIRED, S.REFUNDED])
def test_resend_for_an_order_that_is_not_paid_is_refused(shop, manager, status):
    order = order_make(status=status, email="ada@example.com")

    with (
        pytest.raises(OrderActionRefused, match="only a paid order"),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        order_confirmation_resend_request(order=order, user=manager)

    assert mail.outbox == []
    assert not order.timeline.exists()


def test_resend_without_an_email_address_is_refused(shop, manager):
    order = order_make(status=S.PAID, email="")

    with pytest.raises(OrderActionRefused, match="no e-mail address"):
        order_confirmation_resend_request(order=order, user=manager)

    assert not order.timeline.exists()


# -- internal notes ------------------------------------------------------------------------


def test_a_note_is_on_the_timeline_with_its_author(shop, manager):
    order = order_make(status=S.PAID)

    order_note_add(order=order, user=manager, text="  Customer called: gift wrap please.  ")

    (note,) = order.timeline.filter(kind=K.NOTE)
    assert (note.message, note.user, note.origin_display) == (
        "Customer called: gift wrap please.",
        manager,
        "Admin user meg",
    )


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "x" * (NOTE_MAX_LENGTH + 1), "a\x00b"])
def test_a_blank_overlong_or_unstorable_note_is_refused(shop, manager, text):
    order = order_make(status=S.PAID)

    with pytest.raises(OrderActionRefused):
        order_note_add(order=order, user=manager, text=text)

    assert not order.timeline.exists()


def test_a_note_of_exactly_the_limit_is_kept_whole(shop, manager):
    order = order_make(status=S.PAID)

    note = order_note_add(order=order, user=manager, text="y" * NOTE_MAX_LENGTH)

    assert note.message == "y" * NOTE_MAX_LENGTH


def test_a_note_never_reaches_the_shopper_page_or_their_emails(shop, mug, manager):
    browser = Browser()
    response = browser.buy(browser.page_token(), {mug: 1})
    assert response.status_code == 303
    order = Order.objects.get()
    order_note_add(order=order, user=manager, text="SECRET-NOTE refund if they complain")
    with TestCase.captureOnCommitCallbacks(execute=True):
        fulfilment.order_fulfil(
            session=session_reported(order, paid=True), source=fulfilment.Source.system()
        )
    with TestCase.captureOnCommitCallbacks(execute=True):
        order_confirmation_resend_request(order=order, user=manager)

    pages = [browser.get("/").content, browser.get("/orders/").content]
    pages.append(browser.get(f"/orders/{order.reference}/").content)

    assert len(mail.outbox) == 2
    assert all(b"SECRET-NOTE" not in page for page in pages)
    assert all(order.reference.encode() in page for page in pages[1:])
    for message in mail.outbox:
        assert "SECRET-NOTE" not in message.body
        assert all("SECRET-NOTE" not in str(content) for content, _ in message.alternatives)


@override_settings(EMAIL_BACKEND="tests.support.mail_backends.FlakyBackend")
def test_a_resend_the_mail_server_refused_is_sent_by_the_next_reconciliation(
    shop, manager, monkeypatch
):
    monkeypatch.setattr(tasks, "RETRY_DELAY_SECONDS", 0)
    FlakyBackend.reset(failures=0)
    order = paid_order()
    FlakyBackend.reset(failures=tasks.SEND_ATTEMPTS)
    with TestCase.captureOnCommitCallbacks(execute=True):
        order_confirmation_resend_request(order=order, user=manager)
    assert len(mail.outbox) == 1  # the automatic one only
    order.refresh_from_db()
    assert order.confirmation_resend_requested_at is not None

    report = payments_reconcile(now=timezone.now() + dt.timedelta(hours=1))

    assert order.reference in report.confirmations_requeued
    assert len(mail.outbox) == 2
    order.refresh_from_db()
    assert order.confirmation_resend_requested_at is None
    assert order.timeline.filter(kind=K.EMAIL_SENT).count() == 2
