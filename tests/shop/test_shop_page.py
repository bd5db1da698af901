"""The shop page at / as shoppers see it."""

import re

import pytest
from bs4 import BeautifulSoup

from shop.models import Product

pytestmark = pytest.mark.django_db


def _soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.content, "html.parser")


def test_root_shows_the_three_seeded_products_with_prices_and_quantity_inputs(client, seeded_shop):
    response = client.get("/")

    assert response.status_code == 200
    soup = _soup(response)
    names = [h.get_text(strip=True) for h in soup.select(".product-card__name")]
    assert names == ["Stoneware Mug", "Canvas Tote", "Dot-Grid Notebook"]
    prices = [p.get_text(strip=True) for p in soup.select(".product-card__price data")]
    assert prices == ["$18.00", "$24.50", "$12.75"]
    for product in Product.objects.all():
        field = soup.find("input", attrs={"name": f"qty_{product.pk}"})
        assert field["min"] == "0" and field["max"] == "10" and field["value"] == "0"
        label = soup.find("label", attrs={"for": field["id"]})
        assert product.name in label.get_text()


def test_page_carries_a_fresh_checkout_token_and_csrf_token_each_time(client, seeded_shop):
    tokens = set()
    for _ in range(2):
        soup = _soup(client.get("/"))
        tokens.add(soup.find("input", attrs={"name": "checkout_token"})["value"])
        assert soup.find("input", attrs={"name": "csrfmiddlewaretoken"})
    assert len(tokens) == 2
    assert all(re.fullmatch(r"[0-9a-f-]{36}", token) for token in tokens)


def test_product_images_are_served_as_renditions_not_originals(client, seeded_shop):
    soup = _soup(client.get("/"))
    sources = [img["src"] for img in soup.select("img.product-card__image")]
    assert len(sources) == 3
    assert all("/images/" in src and "fill-640x420" in src for src in sources)
    assert all("/original_images/" not in src for src in sources)


def test_draft_price_change_is_not_shown_until_published(client, seeded_shop):
    mug = Product.objects.get(slug="stoneware-mug")
    mug.unit_amount = 9900
    revision = mug.save_revision()  # a draft: the live row keeps the old price

    assert "$99.00" not in client.get("/").content.decode()
    assert "$18.00" in client.get("/").content.decode()

    revision.publish()
    body = client.get("/").content.decode()
    assert "$99.00" in body and "$18.00" not in body


def test_unavailable_and_unpublished_products_are_not_shown(client, seeded_shop):
    Product.objects.filter(slug="canvas-tote").update(available=False)
    Product.objects.get(slug="dot-grid-notebook").unpublish()

    names = [h.get_text(strip=True) for h in _soup(client.get("/")).select(".product-card__name")]

    assert names == ["Stoneware Mug"]


def test_products_follow_the_editors_sort_order(client, seeded_shop):
    Product.objects.filter(slug="dot-grid-notebook").update(sort_order=-5)

    names = [h.get_text(strip=True) for h in _soup(client.get("/")).select(".product-card__name")]

    assert names[0] == "Dot-Grid Notebook"


def test_my_orders_has_an_honest_empty_state(client, seeded_shop):
    soup = _soup(client.get("/"))
    section = soup.find(id="my-orders")
    assert "You have no orders yet" in section.get_text()


def test_buy_form_works_without_javascript(client, seeded_shop):
    soup = _soup(client.get("/"))
    form = soup.find("form", attrs={"data-buy-form": True})
    assert form["method"] == "post" and form["action"] == "/checkout/"
    assert form.find("button", attrs={"type": "submit"}).get_text(strip=True) == "Buy"
