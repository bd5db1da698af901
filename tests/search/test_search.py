import io

import pytest
from bs4 import BeautifulSoup
from django.utils import timezone
from PIL import Image

from shop.models import Product
from shop.services.products import product_image_create

pytestmark = pytest.mark.django_db


def _results(client, **params):
    response = client.get("/search/", params)
    assert response.status_code == 200
    soup = BeautifulSoup(response.content, "html.parser")
    return [h.get_text(strip=True) for h in soup.select(".search-results h2")]


def test_search_finds_a_product_by_name(client, seeded_shop):
    assert _results(client, query="tote") == ["Canvas Tote"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("notebooks", ["Dot-Grid Notebook"]),
        ("Mugs", ["Stoneware Mug"]),
        ("canvas totes", ["Canvas Tote"]),
        ("stonew", ["Stoneware Mug"]),
    ],
)
def test_plurals_and_the_start_of_a_name_find_the_product(client, shop, query, expected):
    assert _results(client, query=query) == expected


def test_a_product_result_shows_its_picture_and_price_and_links_to_its_card(client, shop):
    tote = Product.objects.get(slug="canvas-tote")
    picture = io.BytesIO()
    Image.new("RGB", (640, 420), (186, 160, 120)).save(picture, format="PNG")
    tote.image = product_image_create(
        title="Canvas Tote", image_bytes=picture.getvalue(), filename="tote.png"
    )
    tote.save(update_fields=["image"])

    response = client.get("/search/", {"query": "tote"})

    (result,) = BeautifulSoup(response.content, "html.parser").select(".search-results li")
    image = result.find("img")
    assert "fill-160x105" in image["src"]
    assert result.select_one(".search-result__price").get_text(strip=True) == "$24.50"
    link = result.find("a", string="Canvas Tote")
    path, anchor = link["href"].split("#")
    assert path == shop.url
    # The anchor is the card's name on the shop page, which the page highlights.
    shop_page = BeautifulSoup(client.get(path).content, "html.parser")
    target = shop_page.find(id=anchor)
    assert target.get_text(strip=True) == "Canvas Tote"
    assert target.find_parent("article", class_="product-card")
    assert tote.pk == int(anchor.split("-")[1])


def test_search_finds_pages(client, seeded_shop):
    assert seeded_shop.title in _results(client, query="goods")


def test_search_does_not_show_unavailable_or_draft_products(client, seeded_shop):
    Product.objects.filter(slug="canvas-tote").update(available=False)
    assert _results(client, query="tote") == []


def test_search_does_not_show_a_product_past_its_expiry(client, shop):
    Product.objects.filter(slug="canvas-tote").update(expire_at=timezone.now())
    assert _results(client, query="tote") == []


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "%",
        "'; DROP TABLE shop_product; --",
        "<script>",
        "\u0000",
        "😀" * 50,
        "a" * 5000,
        "AND OR NOT",
        '"',
        "(((",
        "*",
    ],
)
def test_odd_queries_get_a_friendly_page(client, seeded_shop, query):
    response = client.get("/search/", {"query": query})

    assert response.status_code == 200
    assert b"<script>" not in response.content.split(b"</head>")[1].replace(b"<script src", b"")


def test_search_pages_are_paginated(client, seeded_shop):
    response = client.get("/search/", {"query": "tote", "page": "999"})
    assert response.status_code == 200
    response = client.get("/search/", {"query": "tote", "page": "abc"})
    assert response.status_code == 200
