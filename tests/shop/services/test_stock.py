"""Stock holds: placing an order holds its units, a session that can no longer be paid gives
them back, a payment sells them, once each, and every step is on the order's timeline."""

import datetime as dt
import json
import uuid

import pytest
from django.db.models import F
from django.utils import timezone

from shop.cart import cart_build
from shop.models import Order, OrderEvent, Product, Source
from shop.services import fulfilment
from shop.services.checkout import OutOfStock, order_place
from shop.services.reconciliation import payments_reconcile
from shop.shoppers import Shopper
from shop.stock import stock_level
from tests.support.orders import local_expiry_passed, order_checkout, stale_order
from tests.support.orders import session_reported as session_of
from tests.support.shopper import Browser, soup_of

S = Order.Status
K = OrderEvent.Kind
WEBHOOK = Source.provider_event("evt_stock")
STOCK_KINDS = (K.STOCK_HELD, K.STOCK_RELEASED, K.STOCK_SOLD, K.OVERSOLD)


def stocked(product: Product, units: int | None) -> Product:
    Product.objects.filter(pk=product.pk).update(stock=units)
    product.refresh_from_db()
    return product


def level(product: Product) -> tuple[int, int, int | None]:
    """(held, sold, available) as the shop reads them now."""
    found = stock_level(product.pk)
    return found.held, found.sold, found.available


def pay(order: Order) -> Order:
    return fulfilment.order_fulfil(session=session_of(order, paid=True), source=WEBHOOK)


ENDINGS = {
    S.EXPIRED: lambda o: fulfilment.order_expire(session=session_of(o, paid=False), source=WEBHOOK),
    S.CANCELED: lambda o: fulfilment.order_cancel(order=o, source=Source.cancel_page()),
    S.FAILED: lambda o: fulfilment.order_fail(session=session_of(o, paid=False), source=WEBHOOK),
}


def stock_entries(order: Order) -> list[str]:
    return list(order.timeline.filter(kind__in=STOCK_KINDS).values_list("kind", flat=True))


def lapse(order: Order) -> None:
    """Its session's time (and the hold's margin) is behind us."""
    order.lines.update(held_until=F("held_until") - dt.timedelta(hours=2))


def test_placing_an_order_holds_its_tracked_units_on_its_timeline(shop, mug, tote):
    stocked(mug, 5)
    order, _ = order_checkout({mug: 2, tote: 1})

    assert level(mug) == (2, 0, 3)
    assert level(tote) == (0, 0, None)
    (held,) = order.timeline.filter(kind=K.STOCK_HELD)
    assert "Stoneware Mug × 2" in held.message
    assert "Tote" not in held.message


def test_untracked_products_are_neither_held_nor_refused(shop, mug):
    order, _ = order_checkout({mug: 10})
    pay(order)

    assert level(mug) == (0, 0, None)
    assert stock_entries(order) == []


def test_asking_more_than_is_available_orders_nothing(shop, mug, tote):
    stocked(mug, 3)
    order_checkout({mug: 2})
    cart = cart_build(
        checkout_token=uuid.uuid4(),
        fields={f"qty_{mug.pk}": "2", f"qty_{tote.pk}": "1"},
        max_quantity=10,
    )

    with pytest.raises(OutOfStock) as refused:
        order_place(cart=cart, shopper=Shopper(user_id=None, guest_token="g", email=None))

    (short,) = refused.value.short
    assert (short.product, short.wanted, short.available) == (mug, 2, 1)
    assert Order.objects.count() == 1
    assert level(mug) == (2, 0, 1)


def test_the_shop_page_refuses_with_409_naming_what_is_left_and_keeps_the_choices(shop, mug, tote):
    stocked(mug, 2)
    browser = Browser()

    response = browser.buy(browser.page_token(), {mug: 3, tote: 2})

    assert response.status_code == 409
    error = soup_of(response).find(id="checkout-error").get_text(" ", strip=True)
    assert "only 2 left of Stoneware Mug" in error
    typed = {
        field["name"]: field.get("value")
        for field in soup_of(response).select("form[data-buy-form] input[name^=qty_]")
    }
    assert typed[f"qty_{tote.pk}"] == "2"
    assert typed[f"qty_{mug.pk}"] == "3"
    assert not Order.objects.exists()


def test_a_sold_out_product_is_refused_to_json_clients_with_what_is_available(shop, mug, tote):
    stocked(mug, 0)
    browser = Browser()

    response = browser.buy_json(browser.page_token(), {mug: 1, tote: 1})

    assert response.status_code == 409
    body = json.loads(response.content)
    assert body["available"] == {str(mug.pk): 0}
    assert "Stoneware Mug is sold out" in body["error"]
    assert not Order.objects.exists()


def test_a_retried_token_finds_its_order_and_holds_nothing_more(shop, mug):
    stocked(mug, 2)
    browser = Browser()
    token = browser.page_token()

    first = browser.buy(token, {mug: 2})
    again = browser.buy(token, {mug: 2})

    assert (first.status_code, again.status_code) == (303, 303)
    assert first["Location"] == again["Location"]
    assert Order.objects.count() == 1
    assert level(mug) == (2, 0, 0)


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_a_session_that_ends_unpaid_gives_its_units_back_once(shop, mug, ending):
    stocked(mug, 4)
    order, _ = order_checkout({mug: 3})

    ENDINGS[ending](order)
    ENDINGS[ending](order)  # the event again, or the page reloaded

    order.refresh_from_db()
    assert order.status == ending
    assert level(mug) == (0, 0, 4)
    assert stock_entries(order) == [K.STOCK_HELD, K.STOCK_RELEASED]
    assert order.timeline.get(kind=K.STOCK_RELEASED).message == "Released: Stoneware Mug × 3"


def test_a_paid_order_sells_its_held_units_once(shop, mug):
    stocked(mug, 4)
    order, _ = order_checkout({mug: 3})

    pay(order)
    pay(order)
    ENDINGS[S.EXPIRED](order)  # a late expiry event changes nothing

    order.refresh_from_db()
    assert (order.status, order.oversold) == (S.PAID, False)
    assert level(mug) == (0, 3, 1)
    assert stock_entries(order) == [K.STOCK_HELD, K.STOCK_SOLD]


def test_a_late_payment_after_its_units_were_bought_by_another_is_paid_and_oversold(shop, mug):
    stocked(mug, 2)
    late, _ = order_checkout({mug: 2})
    ENDINGS[S.EXPIRED](late)
    other, _ = order_checkout({mug: 2})
    pay(other)

    pay(late)

    late.refresh_from_db()
    assert (late.status, late.oversold) == (S.PAID, True)
    assert level(mug) == (0, 4, -2)
    assert stock_entries(late) == [K.STOCK_HELD, K.STOCK_RELEASED, K.STOCK_SOLD, K.OVERSOLD]
    assert "Stoneware Mug × 2" in late.timeline.get(kind=K.OVERSOLD).message
    other.refresh_from_db()
    assert other.oversold is False


def test_a_late_payment_the_stock_still_covers_is_not_oversold(shop, mug):
    stocked(mug, 5)
    late, _ = order_checkout({mug: 2})
    lapse(late)
    assert level(mug) == (0, 0, 5)

    pay(late)

    late.refresh_from_db()
    assert (late.status, late.oversold) == (S.PAID, False)
    assert level(mug) == (0, 2, 3)


def test_stock_lowered_under_the_holds_flags_the_payment_it_cannot_cover(shop, mug):
    stocked(mug, 2)
    first, _ = order_checkout({mug: 1})
    second, _ = order_checkout({mug: 1})
    stocked(mug, 1)  # an editor counts again

    pay(first)
    pay(second)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.oversold) == (S.PAID, False)
    assert (second.status, second.oversold) == (S.PAID, True)


def test_a_hold_lapses_with_its_session_and_reconciliation_says_so(shop, mug):
    stocked(mug, 1)
    order, _ = order_checkout({mug: 1})
    lapse(order)

    assert level(mug) == (0, 0, 1)
    assert fulfilment.stock_holds_release_lapsed(source=Source.reconciliation()) == [
        order.reference
    ]
    assert fulfilment.stock_holds_release_lapsed(source=Source.reconciliation()) == []
    released = order.timeline.get(kind=K.STOCK_RELEASED)
    assert released.origin == "reconciliation"
    order.refresh_from_db()
    assert order.status == S.PENDING


def test_the_hold_lasts_as_long_as_the_session_plus_a_margin(shop, mug):
    stocked(mug, 1)
    order, session = order_checkout({mug: 1})

    (line,) = order.lines.all()
    assert session.expires_at < line.held_until <= session.expires_at + dt.timedelta(minutes=5)
    assert line.held_until > timezone.now()


def test_a_new_shopper_can_buy_units_an_expired_session_gave_back(shop, mug):
    stocked(mug, 1)
    order, _ = order_checkout({mug: 1})
    with pytest.raises(OutOfStock):
        order_checkout({mug: 1})

    ENDINGS[S.EXPIRED](order)
    again, _ = order_checkout({mug: 1})

    assert again.status == S.PENDING
    assert level(mug) == (1, 0, 0)


def test_reconciliation_expiring_a_stale_session_releases_its_units(shop, mug):
    stocked(mug, 1)
    order = stale_order("stoneware-mug")
    local_expiry_passed(order.payment_session_id)

    payments_reconcile()

    order.refresh_from_db()
    assert order.status == S.EXPIRED
    assert order.timeline.get(kind=K.STOCK_RELEASED).origin == "reconciliation"
    assert level(mug) == (0, 0, 1)


def test_reconciliation_releases_a_lapsed_hold_whose_order_never_reached_the_gateway(shop, mug):
    stocked(mug, 2)
    cart = cart_build(checkout_token=uuid.uuid4(), fields={f"qty_{mug.pk}": "2"}, max_quantity=10)
    order = order_place(cart=cart, shopper=Shopper(user_id=None, guest_token="g", email=None))
    lapse(order)

    dry = payments_reconcile(dry_run=True)
    report = payments_reconcile()

    assert dry.holds_released == []
    assert report.holds_released == [order.reference]
    assert stock_entries(order) == [K.STOCK_HELD, K.STOCK_RELEASED]
    assert level(mug) == (0, 0, 2)
