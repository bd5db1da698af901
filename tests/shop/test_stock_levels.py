"""The stock read API: what is left of each tracked product, in a fixed number of queries."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shop.models import Order, OrderLine, Product
from shop.stock import StockLevel, stock_levels

pytestmark = pytest.mark.django_db


def _product(stock, name="Mug"):
    return Product.objects.create(name=name, slug=name.lower(), unit_amount=1000, stock=stock)


def _line(product, quantity, *, held_until=None, released=False, sold=False):
    now = timezone.now()
    order = Order.objects.create(
        checkout_token=__import__("uuid").uuid4(), currency="usd", amount_total=1000
    )
    return OrderLine.objects.create(
        order=order,
        product=product,
        product_name=product.name,
        unit_amount=1000,
        currency="usd",
        quantity=quantity,
        held_quantity=quantity,
        held_until=held_until or now + dt.timedelta(minutes=30),
        hold_released_at=now if released else None,
        sold_at=now if sold else None,
    )


def test_levels_count_live_holds_and_sales_only():
    mug = _product(10)
    _line(mug, 2)
    _line(mug, 1, released=True)
    _line(mug, 4, held_until=timezone.now() - dt.timedelta(seconds=1))
    _line(mug, 3, sold=True)
    untracked = _product(None, name="Poster")
    _line(untracked, 0)
    with CaptureQueriesContext(connection) as queries:
        levels = stock_levels([mug.pk, untracked.pk, 999_999])
    assert len(queries) <= 2
    assert levels == {
        mug.pk: StockLevel(stock=10, held=2, sold=3, available=5),
        untracked.pk: StockLevel(stock=None, held=0, sold=0, available=None),
    }
