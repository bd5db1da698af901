import io

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from wagtail.models import Page, Site

from shop.models import Product, ShopPage

pytestmark = pytest.mark.django_db


def _seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_shop", *args, stdout=out)
    return out.getvalue()


def test_seed_twice_leaves_three_products_and_one_shop_page_at_root(client):
    first = _seed()
    second = _seed()

    assert Product.objects.count() == 3
    assert ShopPage.objects.count() == 1
    site = Site.objects.get(is_default_site=True)
    assert site.root_page.specific_class is ShopPage
    assert client.get("/").status_code == 200
    assert "created product stoneware-mug" in first
    assert "found product stoneware-mug" in second and "created" not in second
    # Wagtail's placeholder welcome page is gone; no stray pages left behind.
    assert Page.objects.filter(depth=2).count() == 1


def test_seed_never_overwrites_an_editors_changes():
    _seed()
    Product.objects.filter(slug="canvas-tote").update(name="Tote (renamed)", unit_amount=2999)

    _seed()

    tote = Product.objects.get(slug="canvas-tote")
    assert (tote.name, tote.unit_amount) == ("Tote (renamed)", 2999)


def test_seeded_products_have_generated_images_and_are_live():
    _seed()
    for product in Product.objects.all():
        assert product.live and product.available
        assert product.image is not None and product.image.width == 960


def test_demo_users_are_refused_when_debug_is_off():
    with pytest.raises(CommandError, match="DEBUG"):
        _seed("--demo-users")


@override_settings(DEBUG=True)
def test_demo_users_are_created_when_asked_in_debug():
    output = _seed("--demo-users")

    assert "demo user admin" in output and "demo user editor" in output
