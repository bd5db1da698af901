"""The cached catalogue on / follows every edit that changes a card, at once.

Each test renders the page first, so the catalogue is cached, then changes the product
the way an editor (or the clock) would and reads the page again.
"""

import datetime as dt
import io

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from wagtail.models import Revision

from home.models import StoreSettings
from shop.models import OrderLine, Product
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

    # As the snippet listing's reorder action does: a plain UPDATE, no publication.
    Product.objects.filter(slug="stoneware-mug").update(**change)

    assert seen in client.get("/").content.decode()


def test_a_new_picture_for_a_product_shows_at_once(shop, client):
    assert "product-card__image--empty" in _card(client, "Canvas Tote")
    image = product_image_create(title="Tote on a hook", image_bytes=_png(), filename="tote.png")

    Product.objects.filter(slug="canvas-tote").update(image=image)

    assert 'alt="Tote on a hook"' in _card(client, "Canvas Tote")


def test_a_product_past_its_expiry_is_neither_shown_nor_sold(shop, client):
    tote = Product.objects.get(slug="canvas-tote")
    tote.expire_at = timezone.now() + dt.timedelta(hours=1)
    tote.save_revision().publish()
    assert "Canvas Tote" in _names(client)
    shopper = Browser()
    token = shopper.page_token()

    # The hour passes; publish_scheduled has not run, so the row is still live.
    Product.objects.filter(pk=tote.pk).update(expire_at=timezone.now() - dt.timedelta(seconds=1))

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
    lamp.go_live_at = timezone.now() + dt.timedelta(hours=1)
    lamp.save_revision().publish()
    assert "Desk Lamp" not in _names(client)
    shopper = Browser()

    # The hour passes; publish_scheduled has not run, so the row is not live yet.
    past = timezone.now() - dt.timedelta(seconds=1)
    Product.objects.filter(pk=lamp.pk).update(go_live_at=past)
    Revision.objects.filter(object_id=str(lamp.pk), approved_go_live_at__isnull=False).update(
        approved_go_live_at=past
    )

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
    line = stock_line_make(mug, 1)
    assert _quantity_input(client, "Stoneware Mug")[1].has_attr("disabled")

    OrderLine.objects.filter(pk=line.pk).update(held_until=timezone.now() - dt.timedelta(seconds=1))

    card, quantity = _quantity_input(client, "Stoneware Mug")
    assert not quantity.has_attr("disabled") and quantity["max"] == "1"
    assert card.select_one(".product-card__stock").get_text(strip=True) == "Only 1 left"


def test_raising_the_low_stock_threshold_shows_at_once(shop, client):
    StoreSettings.objects.update(low_stock_threshold=5)
    Product.objects.filter(slug="stoneware-mug").update(stock=30)
    assert _quantity_input(client, "Stoneware Mug")[0].select_one(".product-card__stock") is None

    StoreSettings.objects.update(low_stock_threshold=31)

    card, _ = _quantity_input(client, "Stoneware Mug")
    assert card.select_one(".product-card__stock").get_text(strip=True) == "Only 30 left"
