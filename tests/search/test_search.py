import pytest
from bs4 import BeautifulSoup
from django.utils import timezone

from shop.models import Product

pytestmark = pytest.mark.django_db


def _results(client, **params):
    response = client.get("/search/", params)
    assert response.status_code == 200
    soup = BeautifulSoup(response.content, "html.parser")
    return [h.get_text(strip=True) for h in soup.select(".search-results h2")]


def test_search_finds_a_product_by_name(client, seeded_shop):
    assert _results(client, query="tote") == ["Canvas Tote"]


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
