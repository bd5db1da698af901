"""The cached catalogue on / follows every edit that changes a card, at once.

Each test renders the page first, so the catalogue is cached, then changes the product
the way an editor (or the clock) would and reads the page again.
"""

import datetime as dt
import io
import time

import pytest
from bs4 import BeautifulSoup
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from home.models import StoreSettings
from shop.models import Product
from shop.services.products import product_create, product_image_create
from tests.support.shopper import Browser, checkout_token_in
from tests.support.stock import stock_line_make

pytestmark = pytest.mark.django_db


def _names(client) -> list[str]:
    soup = BeautifulSoup(client.get("/").content, "html.parser")
    return [h.get_text(strip=True) for h in soup.select(".product-card__name")]


def _card(client, name: str) -> str:
    soup = BeautifulSoup(client.get("/").content, "html.parser")
    for card in soup.select(".product-card"):
        if card.select_one(".product-card__name").get_text(strip=True) == name:
            return str(card)
    return ""


def test_reordering_in_the_admin_shows_the_new_order_at_once(admin_client, shop):
    shopper = Browser()
    assert _names(shopper.client) == ["Stoneware Mug", "Canvas Tote", "Dot-Grid Notebook"]
    notebook = Product.objects.get(slug="dot-grid-notebook")

    response = admin_client.post(
        reverse("wagtailsnippets_shop_product:reorder", args=[notebook.pk]) + "?position=0"
    )

    assert response.json() == {"success": True}
    assert _names(shopper.client) == ["Dot-Grid Notebook", "Stoneware Mug", "Canvas Tote"]


def test_an_edit_published_through_the_admin_shows_at_once(admin_client, shop):
    shopper = Browser()
    mug = Product.objects.get(slug="stoneware-mug")
    assert "$18.00" in _card(shopper.client, "Stoneware Mug")
    edit = reverse("wagtailsnippets_shop_product:edit", args=[mug.pk])
    data = {
        "name": "Stoneware Mug",
        "slug": mug.slug,
        "description": '{"blocks":[{"key":"a","type":"unstyled","text":"Glazed by hand.",'
        '"depth":0,"inlineStyleRanges":[],"entityRanges":[]}],"entityMap":{}}',
        "unit_amount": "19,50",
        "available": "on",
        "sort_order": "0",
        "action-publish": "publish",
    }

    assert admin_client.post(edit, data).status_code == 302

    card = _card(shopper.client, "Stoneware Mug")
    assert "$19.50" in card and "Glazed by hand." in card


@pytest.mark.parametrize(
    ("change", "seen"),
    [
        ({"name": "Stoneware Cup"}, "Stoneware Cup"),
        ({"unit_amount": 2100}, "$21.00"),
        ({"description": "<p>Now dishwasher safe.</p>"}, "Now dishwasher safe."),
    ],
)
def test_any_change_to_a_card_changes_the_cached_catalogue(shop, client, change, seen):
    assert seen not in client.get("/").content.decode()

    mug = Product.objects.get(slug="stoneware-mug")
    for name, value in change.items():
        setattr(mug, name, value)
    mug.save_revision().publish()

    assert seen in client.get("/").content.decode()


def test_reordering_products_in_the_admin_reorders_the_cached_catalogue(shop, admin_client):
    assert _names(Client())[0] == "Stoneware Mug"
    notebook = Product.objects.get(slug="dot-grid-notebook")

    # The snippet listing's drag and drop: plain UPDATEs of the others, a save of the moved one.
    moved = admin_client.post(f"/admin/snippets/shop/product/reorder/{notebook.pk}/?position=0")

    assert moved.status_code == 200, moved.content[:200]
    assert _names(Client())[0] == "Dot-Grid Notebook"


def test_a_new_picture_for_a_product_shows_at_once(shop, client):
    assert "product-card__image--empty" in _card(client, "Canvas Tote")
    image = product_image_create(title="Tote on a hook", image_bytes=_png(), filename="tote.png")

    tote = Product.objects.get(slug="canvas-tote")
    tote.image = image
    tote.save_revision().publish()

    assert 'alt="Tote on a hook"' in _card(client, "Canvas Tote")


def test_a_product_past_its_expiry_is_neither_shown_nor_sold(shop, client):
    tote = Product.objects.get(slug="canvas-tote")
    tote.expire_at = timezone.now() + dt.timedelta(seconds=2)
    tote.save_revision().publish()
    assert "Canvas Tote" in _names(client)
    shopper = Browser()
    token = shopper.page_token()

    # The two seconds pass; publish_scheduled has not run, so the row is still live.
    _sleep_until(tote.expire_at)

    assert Product.objects.get(pk=tote.pk).live
    assert "Canvas Tote" not in _names(client)
    response = shopper.buy(token, {tote: 1})
    assert response.status_code == 400
    assert "no longer available" in response.content.decode()


def test_a_product_scheduled_to_go_live_is_sold_from_then(shop, client):
    lamp = product_create(
        name="Desk Lamp",
        slug="desk-lamp",
        description="",
        unit_amount=4500,
        currency="usd",
        sort_order=50,
        publish=False,
    )
    lamp.go_live_at = timezone.now() + dt.timedelta(seconds=2)
    lamp.save_revision().publish()
    assert "Desk Lamp" not in _names(client)
    shopper = Browser()

    # The two seconds pass; publish_scheduled has not run, so the row is not live yet.
    _sleep_until(lamp.go_live_at)

    assert not Product.objects.get(pk=lamp.pk).live
    assert "Desk Lamp" in _names(client)
    response = shopper.buy(checkout_token_in(shopper.get("/")), {lamp: 1})
    assert response.status_code == 303


def test_a_cancelled_schedule_does_not_put_the_product_on_sale(shop, client):
    lamp = product_create(
        name="Desk Lamp",
        slug="desk-lamp",
        description="",
        unit_amount=4500,
        currency="usd",
        publish=False,
    )
    lamp.go_live_at = timezone.now() - dt.timedelta(seconds=1)
    Product.objects.filter(pk=lamp.pk).update(go_live_at=lamp.go_live_at)

    assert "Desk Lamp" not in _names(client)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 42), (120, 90, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


def _quantity_input(client, name: str):
    card = BeautifulSoup(_card(client, name), "html.parser")
    return card, card.select_one("input.quantity__input")


def test_a_product_with_few_left_says_so_and_caps_the_quantity_then_sells_out(shop, client):
    StoreSettings.objects.update(low_stock_threshold=5)
    mug = Product.objects.get(slug="stoneware-mug")
    Product.objects.filter(pk=mug.pk).update(stock=4)
    stock_line_make(mug, 2, sold=True)

    card, quantity = _quantity_input(client, "Stoneware Mug")
    assert card.select_one(".product-card__stock").get_text(strip=True) == "Only 2 left"
    assert quantity["max"] == "2" and not quantity.has_attr("disabled")
    assert f"qty-{mug.pk}-stock" in quantity["aria-describedby"].split()

    # Others buy the last two while the page is cached.
    stock_line_make(mug, 1, sold=True)
    stock_line_make(mug, 1)

    card, quantity = _quantity_input(client, "Stoneware Mug")
    assert card.select_one(".product-card__stock").get_text(strip=True) == "Sold out"
    assert quantity.has_attr("disabled") and quantity["value"] == "0"


def test_a_product_with_plenty_left_or_untracked_looks_as_before(shop, client):
    StoreSettings.objects.update(low_stock_threshold=5)
    max_quantity = str(shop.max_quantity)
    Product.objects.filter(slug="stoneware-mug").update(stock=shop.max_quantity + 20)

    for name in ("Stoneware Mug", "Canvas Tote"):
        card, quantity = _quantity_input(client, name)
        assert card.select_one(".product-card__stock") is None
        assert quantity["max"] == max_quantity and not quantity.has_attr("data-stock-limited")


def test_the_most_a_shopper_can_choose_is_what_is_left_when_under_the_page_maximum(shop, client):
    StoreSettings.objects.update(low_stock_threshold=2)
    shop.max_quantity = 10
    shop.save_revision().publish()
    Product.objects.filter(slug="stoneware-mug").update(stock=7)

    card, quantity = _quantity_input(client, "Stoneware Mug")

    assert card.select_one(".product-card__stock") is None
    assert quantity["max"] == "7" and quantity.has_attr("data-stock-limited")


def test_a_lapsed_hold_puts_its_units_back_on_the_shop_page(shop, client):
    mug = Product.objects.get(slug="stoneware-mug")
    Product.objects.filter(pk=mug.pk).update(stock=1)
    line = stock_line_make(mug, 1, held_for=dt.timedelta(seconds=2))
    assert _quantity_input(client, "Stoneware Mug")[1].has_attr("disabled")

    # Nothing tells the shop a hold lapsed with its session: the cards' own lifetime ends.
    _sleep_until(line.held_until)

    card, quantity = _quantity_input(client, "Stoneware Mug")
    assert not quantity.has_attr("disabled") and quantity["max"] == "1"
    assert card.select_one(".product-card__stock").get_text(strip=True) == "Only 1 left"


def test_raising_the_low_stock_threshold_shows_at_once(shop, client):
    StoreSettings.objects.update(low_stock_threshold=5)
    Product.objects.filter(slug="stoneware-mug").update(stock=30)
    assert _quantity_input(client, "Stoneware Mug")[0].select_one(".product-card__stock") is None

    store = StoreSettings.objects.get()
    store.low_stock_threshold = 31
    store.save()

    card, _ = _quantity_input(client, "Stoneware Mug")
    assert card.select_one(".product-card__stock").get_text(strip=True) == "Only 30 left"


def _sleep_until(moment: dt.datetime) -> None:
    time.sleep(max((moment - timezone.now()).total_seconds(), 0) + 0.05)
