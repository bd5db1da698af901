"""Disputes as Stripe reports them to the real webhook: the order is flagged, each event is on
its timeline, the store's support address hears once per dispute, and a dispute that comes
before its payment (or for a payment we do not know) is kept and applied once it is paid."""

import datetime as dt
import time

import pytest
from bs4 import BeautifulSoup
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from wagtail.models import Site

from home.models import StoreSettings
from shop.models import Dispute, Order, OrderEvent, PaymentEvent, Product
from shop.payments.events import DisputeUpdated
from shop.payments.stripe_json import event_from_payload
from shop.tasks import dispute_notice_recipients, dispute_notice_send
from tests.support.events import deliver, dispute_event, dispute_object, event, session_object
from tests.support.orders import order_checkout, order_make
from tests.support.shopper import Browser

pytestmark = pytest.mark.django_db

K = OrderEvent.Kind
SUPPORT = "help@shop.example"
INTENT = "pi_test_disputed"


@pytest.fixture
def support_address(shop) -> str:
    store = StoreSettings.for_site(Site.objects.get(is_default_site=True))
    store.support_email = SUPPORT
    store.save()
    return SUPPORT


def paid(browser: Browser, order: Order, intent: str = INTENT) -> None:
    completed = event("checkout.session.completed", session_object(order, payment_intent=intent))
    assert deliver(browser, completed).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def pending() -> Order:
    order, _ = order_checkout({Product.objects.get(slug="stoneware-mug"): 2})
    return order


def dispute_mails() -> list:
    return [m for m in mail.outbox if m.subject.startswith("Dispute opened")]


def dispute_entries(order: Order) -> list[tuple[str, str]]:
    kinds = (K.DISPUTE_OPENED, K.DISPUTE_UPDATED, K.DISPUTE_CLOSED)
    return list(order.timeline.filter(kind__in=kinds).values_list("kind", "message"))


# -- reading Stripe's dispute events ------------------------------------------------------


def test_a_dispute_event_reads_as_our_dispute_updated_with_its_deadline():
    due = int(time.time()) + 3 * 86400
    obj = dispute_object(payment_intent=INTENT, amount=3600, due_by=due, dispute_id="dp_1")

    read = event_from_payload(dispute_event("created", obj, created=1_800_000_000))

    assert isinstance(read, DisputeUpdated)
    assert (read.phase, read.dispute_id, read.payment_id) == ("opened", "dp_1", INTENT)
    assert (read.amount, read.currency, read.reason, read.status) == (
        3600,
        "usd",
        "fraudulent",
        "needs_response",
    )
    assert read.evidence_due_by == dt.datetime.fromtimestamp(due, tz=dt.UTC)
    assert read.occurred_at == dt.datetime.fromtimestamp(1_800_000_000, tz=dt.UTC)


def test_a_deadline_of_zero_means_no_response_is_possible():
    obj = dispute_object(payment_intent=INTENT, amount=100, due_by=0)

    assert event_from_payload(dispute_event("created", obj)).evidence_due_by is None


@pytest.mark.parametrize(
    "broken",
    [{"payment_intent": None}, {"amount": "12"}, {"id": 7}, {"status": None}, {"currency": "x"}],
)
def test_a_dispute_we_cannot_read_is_kept_as_unusable(broken):
    obj = {**dispute_object(payment_intent=INTENT, amount=100), **broken}

    assert event_from_payload(dispute_event("updated", obj)).kind == "unusable"


# -- the order is flagged, the timeline records each event, one e-mail -----------------


def test_a_dispute_flags_the_order_records_it_and_tells_support_once(support_address):
    browser = Browser()
    order = pending()
    paid(browser, order)
    mail.outbox.clear()
    dispute = dispute_object(payment_intent=INTENT, amount=3600, dispute_id="dp_once")
    created = dispute_event("created", dispute)

    assert deliver(browser, created).status_code == 200
    assert deliver(browser, created).status_code == 200

    (recorded,) = Dispute.objects.all()
    assert (recorded.order, recorded.amount, recorded.reason, recorded.status) == (
        order,
        3600,
        "fraudulent",
        "needs_response",
    )
    assert recorded.is_open and recorded.evidence_due_by is not None
    ((kind, message),) = dispute_entries(order)
    assert kind == K.DISPUTE_OPENED
    assert message.startswith("dp_once: $36.00, fraudulent, needs response, evidence due by")
    (notice,) = dispute_mails()
    assert notice.to == [SUPPORT]
    assert order.reference in notice.subject
    assert "dp_once" in notice.body and "$36.00" in notice.body
    # The shopper hears nothing about it.
    assert all(m.to != [order.customer_email] for m in mail.outbox)


def test_updated_and_closed_events_each_go_on_the_timeline_and_send_no_more_mail(
    support_address,
):
    browser = Browser()
    order = pending()
    paid(browser, order)
    dispute = dispute_object(payment_intent=INTENT, amount=3600, dispute_id="dp_life")
    now = int(time.time())

    deliver(browser, dispute_event("created", dispute, created=now))
    deliver(
        browser, dispute_event("updated", {**dispute, "status": "under_review"}, created=now + 1)
    )
    deliver(browser, dispute_event("closed", {**dispute, "status": "won"}, created=now + 2))

    recorded = Dispute.objects.get()
    assert (recorded.status, recorded.is_open) == ("won", False)
    assert recorded.closed_at is not None
    assert [kind for kind, _ in dispute_entries(order)] == [
        K.DISPUTE_OPENED,
        K.DISPUTE_UPDATED,
        K.DISPUTE_CLOSED,
    ]
    assert "won" in dispute_entries(order)[-1][1]
    assert len(dispute_mails()) == 1


def test_an_older_event_delivered_late_does_not_reopen_a_closed_dispute(support_address):
    browser = Browser()
    order = pending()
    paid(browser, order)
    dispute = dispute_object(payment_intent=INTENT, amount=3600)
    now = int(time.time())

    deliver(browser, dispute_event("closed", {**dispute, "status": "lost"}, created=now + 5))
    deliver(browser, dispute_event("created", dispute, created=now))

    recorded = Dispute.objects.get()
    assert recorded.status == "lost" and not recorded.is_open
    assert len(dispute_mails()) == 1
    assert len(dispute_entries(order)) == 2


def test_a_dispute_before_its_payment_is_kept_and_applied_once_the_order_is_paid(
    support_address,
):
    browser = Browser()
    order = pending()
    dispute = dispute_object(payment_intent=INTENT, amount=3600, dispute_id="dp_early")

    response = deliver(browser, dispute_event("created", dispute))

    assert response.status_code == 200
    recorded = Dispute.objects.get()
    assert recorded.order is None and recorded.payment_id == INTENT
    assert PaymentEvent.objects.get(type="charge.dispute.created").payment_id == INTENT
    assert len(dispute_mails()) == 1
    assert "payment pi_test_disputed" in dispute_mails()[0].subject

    paid(browser, order)

    recorded.refresh_from_db()
    assert recorded.order == order
    ((kind, message),) = dispute_entries(order)
    assert kind == K.DISPUTE_OPENED and "reported before the payment" in message
    assert len(dispute_mails()) == 1


def test_a_dispute_for_a_payment_we_do_not_know_is_recorded_and_answered_200(support_address):
    browser = Browser()
    dispute = dispute_object(payment_intent="pi_test_foreign", amount=500)

    assert deliver(browser, dispute_event("created", dispute)).status_code == 200

    assert Dispute.objects.get().order is None
    assert len(dispute_mails()) == 1


def test_without_a_support_address_the_notice_goes_to_admins_then_the_sender(shop):
    with override_settings(ADMINS=[("Ops", "ops@shop.example")]):
        assert dispute_notice_recipients() == ["ops@shop.example"]
    with override_settings(ADMINS=[], DEFAULT_FROM_EMAIL="Shop <shop@shop.example>"):
        assert dispute_notice_recipients() == ["shop@shop.example"]


def test_the_notice_task_run_twice_sends_once(support_address):
    order = order_make(status=Order.Status.PAID, payment_id=INTENT)
    dispute = Dispute.objects.create(
        provider_dispute_id="dp_task",
        order=order,
        payment_id=INTENT,
        amount=100,
        currency="usd",
        status="needs_response",
    )

    assert dispute_notice_send.call(dispute.pk) is True
    assert dispute_notice_send.call(dispute.pk) is False
    assert len(dispute_mails()) == 1


# -- the admin: inspect page, list filter, dashboard -------------------------------------


def test_the_inspect_page_shows_the_dispute_its_deadline_and_a_link_to_stripe(
    support_address, editor_client
):
    order = order_make(
        status=Order.Status.PAID, payment_id=INTENT, session_id="cs_test_disputedorder"
    )
    due = int(dt.datetime(2026, 12, 20, 17, 0, tzinfo=dt.UTC).timestamp())
    obj = dispute_object(payment_intent=INTENT, amount=1800, due_by=due, dispute_id="dp_shown")
    deliver(Browser(), dispute_event("created", obj))

    response = editor_client.get(reverse("orders:inspect", args=[order.pk]))

    page = BeautifulSoup(response.content, "html.parser")
    (row,) = page.select("[data-order-disputes] tbody tr")
    cells = [td.get_text(" ", strip=True) for td in row.find_all("td")]
    assert cells[:4] == ["dp_shown", "$18.00", "Fraudulent", "Needs response"]
    assert cells[4] == "20 Dec 2026, 17:00"
    assert row.find("a")["href"] == "https://dashboard.stripe.com/test/disputes/dp_shown"


def test_the_orders_list_filters_disputed_orders(support_address, editor_client):
    calm = order_make(status=Order.Status.PAID, payment_id="pi_test_calm")
    open_ = order_make(status=Order.Status.PAID, payment_id="pi_test_open")
    won = order_make(status=Order.Status.PAID, payment_id="pi_test_won")
    browser = Browser()
    deliver(
        browser, dispute_event("created", dispute_object(payment_intent="pi_test_open", amount=1))
    )
    deliver(
        browser,
        dispute_event(
            "closed", dispute_object(payment_intent="pi_test_won", amount=1, status="won")
        ),
    )

    def listed(query: str) -> set[str]:
        response = editor_client.get(reverse("orders:index") + query)
        assert response.status_code == 200
        return {o.reference for o in response.context["object_list"]}

    assert listed("?disputed=open") == {open_.reference}
    assert listed("?disputed=any") == {open_.reference, won.reference}
    assert calm.reference in listed("")
    assert listed("?disputed=nonsense") >= {calm.reference, open_.reference}


def test_an_open_dispute_shows_as_a_badge_beside_the_status_in_the_list_and_inspect_page(
    support_address, editor_client
):
    disputed = order_make(status=Order.Status.PAID, payment_id="pi_test_badge")
    settled = order_make(status=Order.Status.PAID, payment_id="pi_test_settled")
    order_make(status=Order.Status.PAID)
    browser = Browser()
    deliver(
        browser, dispute_event("created", dispute_object(payment_intent="pi_test_badge", amount=1))
    )
    closed = dispute_object(payment_intent="pi_test_settled", amount=1, status="lost")
    deliver(browser, dispute_event("closed", closed))

    page = BeautifulSoup(editor_client.get(reverse("orders:index")).content, "html.parser")

    (badge,) = page.select("main [data-order-disputed]")
    assert disputed.reference in badge.find_parent("tr").get_text()
    inspect = BeautifulSoup(
        editor_client.get(reverse("orders:inspect", args=[disputed.pk])).content, "html.parser"
    )
    assert inspect.select_one("main [data-order-disputed]").get_text(strip=True) == "Disputed"
    settled_page = editor_client.get(reverse("orders:inspect", args=[settled.pk])).content
    assert b"data-order-disputed" not in settled_page


def test_the_shopper_never_reads_about_a_dispute(support_address):
    browser = Browser()
    response = browser.buy(browser.page_token(), {Product.objects.get(slug="stoneware-mug"): 1})
    assert response.status_code == 303
    order = Order.objects.get()
    paid(browser, order)
    dispute = dispute_object(payment_intent=INTENT, amount=1800, dispute_id="dp_hidden")
    deliver(browser, dispute_event("created", dispute))

    pages = [browser.get(path).content for path in ("/", "/orders/", f"/orders/{order.reference}/")]

    assert Dispute.objects.get().order == order
    assert all(order.reference.encode() in page for page in pages[1:])
    assert all(b"dp_hidden" not in page and b"ispute" not in page for page in pages)


def test_the_dashboard_counts_open_disputes_and_links_to_them(support_address, editor_client):
    assert b"data-open-disputes" not in editor_client.get(reverse("wagtailadmin_home")).content
    for intent in ("pi_test_a", "pi_test_b"):
        order_make(status=Order.Status.PAID, payment_id=intent)
        deliver(
            Browser(), dispute_event("created", dispute_object(payment_intent=intent, amount=1))
        )
    deliver(
        Browser(),
        dispute_event(
            "closed", dispute_object(payment_intent="pi_test_a", amount=1, status="lost")
        ),
    )

    page = BeautifulSoup(editor_client.get(reverse("wagtailadmin_home")).content, "html.parser")

    panel = page.select_one("[data-open-disputes]")
    assert panel["data-open-disputes"] == "2"
    assert "2 open disputes" in panel.get_text(" ", strip=True)
    assert panel.find("a")["href"] == reverse("orders:index") + "?disputed=open"
