"""A shop sells in one currency, SHOP_CURRENCY: editors cannot price in another, shoppers
never see two added together."""

import importlib

import pytest
from bs4 import BeautifulSoup
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse

from shop.models import Product
from shop.services.products import product_create

pytestmark = pytest.mark.django_db

ADD_URL = "wagtailsnippets_shop_product:add"


@pytest.fixture
def euro_notebook(shop) -> Product:
    """A product priced in euros before the shop had one currency."""
    Product.objects.filter(slug="dot-grid-notebook").update(currency="eur", unit_amount=1700)
    return Product.objects.get(slug="dot-grid-notebook")


def _form(**overrides) -> dict:
    data = {
        "name": "Linen Napkins",
        "slug": "linen-napkins",
        "description": '{"blocks":[],"entityMap":{}}',
        "unit_amount": "12.50",
        "available": "on",
        "sort_order": "40",
        "action-publish": "publish",
    }
    data.update(overrides)
    return data


def _cards(response) -> list[tuple[str, str]]:
    soup = BeautifulSoup(response.content, "html.parser")
    return [
        (card.select_one(".product-card__name").get_text(strip=True), field["data-currency"])
        for card in soup.select(".product-card")
        for field in card.select("input[data-currency]")
    ]


def test_product_form_offers_no_currency_and_prices_in_the_shop_currency(admin_client):
    body = admin_client.get(reverse(ADD_URL)).content.decode()
    assert 'name="currency"' not in body
    assert "In USD" in body

    response = admin_client.post(reverse(ADD_URL), _form(currency="eur"))

    assert response.status_code == 302
    assert Product.objects.get(slug="linen-napkins").currency == "usd"


def test_a_product_left_in_another_currency_is_not_on_the_shop_page(client, euro_notebook):
    cards = _cards(client.get("/"))

    assert cards == [("Stoneware Mug", "usd"), ("Canvas Tote", "usd")]


def test_a_cart_with_a_product_in_another_currency_is_refused_as_unavailable(client, euro_notebook):
    mug = Product.objects.get(slug="stoneware-mug")
    token = BeautifulSoup(client.get("/").content, "html.parser").find(
        "input", attrs={"name": "checkout_token"}
    )["value"]

    response = client.post(
        "/checkout/",
        {f"qty_{mug.pk}": "1", f"qty_{euro_notebook.pk}": "1", "checkout_token": token},
    )

    assert response.status_code == 400
    assert "no longer available" in response.content.decode()


def test_editing_a_product_in_another_currency_asks_for_a_price_in_the_shop_currency(
    admin_client, client, euro_notebook
):
    edit = reverse("wagtailsnippets_shop_product:edit", args=[euro_notebook.pk])

    form = admin_client.get(edit).context["form"]
    assert form["unit_amount"].value() in (None, "")
    assert "priced in EUR (€17.00)" in form.fields["unit_amount"].help_text

    data = _form(name=euro_notebook.name, slug=euro_notebook.slug, unit_amount="")
    response = admin_client.post(edit, data)
    assert response.status_code == 200
    assert "Enter its price in USD" in response.context["form"].errors["unit_amount"][0]
    euro_notebook.refresh_from_db()
    assert (euro_notebook.currency, euro_notebook.unit_amount) == ("eur", 1700)

    response = admin_client.post(edit, {**data, "unit_amount": "19.00"})
    assert response.status_code == 302
    euro_notebook.refresh_from_db()
    assert (euro_notebook.currency, euro_notebook.unit_amount) == ("usd", 1900)
    assert ("Dot-Grid Notebook", "usd") in _cards(client.get("/"))


def test_products_cannot_be_created_in_another_currency(shop):
    with pytest.raises(ValidationError, match="shop's currency, USD"):
        product_create(
            name="Euro Mug", slug="euro-mug", description="", unit_amount=1000, currency="eur"
        )


def test_migration_normalises_the_shop_currency_and_keeps_other_prices_unchanged(shop):
    migration = importlib.import_module("shop.migrations.0002_a_one_shop_currency")
    Product.objects.filter(slug="stoneware-mug").update(currency="USD")
    Product.objects.filter(slug="canvas-tote").update(currency="eur")

    migration.normalise_shop_currency(apps, None)

    rows = dict(Product.objects.values_list("slug", "currency"))
    assert rows == {"stoneware-mug": "usd", "canvas-tote": "eur", "dot-grid-notebook": "usd"}
    assert Product.objects.get(slug="canvas-tote").unit_amount == 2450
