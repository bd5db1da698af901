"""The picture-less shop: the seed command's shop and catalogue, built quickly for tests."""

import io

from django.core.management import call_command

from shop.models import Product, ShopPage
from shop.services.products import product_create

# The seed command's catalogue: (slug, name, price in cents).
SEED_PRODUCTS = [
    ("stoneware-mug", "Stoneware Mug", 1800),
    ("canvas-tote", "Canvas Tote", 2450),
    ("dot-grid-notebook", "Dot-Grid Notebook", 1275),
]


def shop_build() -> ShopPage:
    """The seed command's shop without product pictures.

    Generating and resizing the pictures costs most of a second per test; the seed command
    keeps products it finds by slug, so it still makes the page, the site root and the group.
    """
    for position, (slug, name, amount) in enumerate(SEED_PRODUCTS):
        product_create(
            name=name,
            slug=slug,
            description="",
            unit_amount=amount,
            currency="usd",
            sort_order=position * 10,
        )
    call_command("seed_shop", stdout=io.StringIO())
    return ShopPage.objects.get()


def product(slug: str) -> Product:
    return Product.objects.get(slug=slug)
