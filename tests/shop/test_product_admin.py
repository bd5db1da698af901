"""Editors manage products in the Wagtail admin; prices are typed as money."""

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from shop.models import Product
from shop.services.products import product_create
from tests.support.stock import stock_line_make

pytestmark = pytest.mark.django_db

ADD_URL = "wagtailsnippets_shop_product:add"


def _product_form(**overrides) -> dict:
    data = {
        "name": "Linen Napkins",
        "slug": "linen-napkins",
        "description": '{"blocks":[],"entityMap":{}}',
        "unit_amount": "12.50",
        "currency": "usd",
        "available": "on",
        "sort_order": "40",
        "action-publish": "publish",
    }
    data.update(overrides)
    return data


def test_price_typed_as_money_is_stored_in_cents(admin_client):
    response = admin_client.post(reverse(ADD_URL), _product_form())

    assert response.status_code == 302, response.content[:2000]
    product = Product.objects.get(slug="linen-napkins")
    assert product.unit_amount == 1250
    assert product.live


@pytest.mark.parametrize("price", ["12.50", "12,50", "$12.50", " 12,5 "])
def test_price_with_a_decimal_point_comma_or_dollar_sign_is_twelve_fifty(admin_client, price):
    response = admin_client.post(reverse(ADD_URL), _product_form(unit_amount=price))

    assert response.status_code == 302, response.content[:2000]
    assert Product.objects.get(slug="linen-napkins").unit_amount == 1250


def test_price_field_is_a_text_input_that_accepts_a_decimal_comma(admin_client):
    body = admin_client.get(reverse(ADD_URL)).content.decode()

    field = BeautifulSoup(body, "html.parser").find("input", attrs={"name": "unit_amount"})
    assert field["type"] == "text" and field["inputmode"] == "decimal"


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("-1", "more than zero"),
        ("0", "more than zero"),
        ("12.345", "2 decimal places"),
        ("10000.01", "at most $10,000.00"),
        ("99999999999", "at most"),
        ("twelve", "such as 12.50, 12,50 or $12.50"),
        ("1,250", "could mean thousands or a decimal comma"),
        ("1.250", "2 decimal places"),
        ("", "This field is required"),
    ],
)
def test_invalid_prices_are_refused_with_a_clear_form_error(admin_client, price, message):
    response = admin_client.post(reverse(ADD_URL), _product_form(unit_amount=price))

    assert response.status_code == 200
    errors = response.context["form"].errors["unit_amount"]
    assert any(message in error for error in errors), errors
    assert not Product.objects.filter(slug="linen-napkins").exists()


def test_edit_form_shows_the_stored_price_as_money(admin_client):
    mug = Product.objects.get(slug="stoneware-mug")
    response = admin_client.get(reverse("wagtailsnippets_shop_product:edit", args=[mug.pk]))

    assert response.context["form"]["unit_amount"].value() in ("18.00", 18)
    assert 'value="18.00"' in response.content.decode()


def test_editor_can_add_and_edit_products(editor_client):
    response = editor_client.post(reverse(ADD_URL), _product_form())
    assert response.status_code == 302
    product = Product.objects.get(slug="linen-napkins")

    edit = reverse("wagtailsnippets_shop_product:edit", args=[product.pk])
    response = editor_client.post(edit, _product_form(unit_amount="14.00"))

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.unit_amount == 1400


def test_editor_can_save_a_draft_price_that_the_shop_does_not_show(editor_client, client):
    mug = Product.objects.get(slug="stoneware-mug")
    edit = reverse("wagtailsnippets_shop_product:edit", args=[mug.pk])
    data = _product_form(name=mug.name, slug=mug.slug, unit_amount="30.00")
    del data["action-publish"]

    assert editor_client.post(edit, data).status_code == 302

    mug.refresh_from_db()
    assert mug.unit_amount == 1800
    assert mug.has_unpublished_changes
    assert mug.latest_revision.as_object().unit_amount == 3000


def test_editor_can_preview_a_product_card(editor_client):
    mug = Product.objects.get(slug="stoneware-mug")
    preview = reverse("wagtailsnippets_shop_product:preview_on_edit", args=[mug.pk])
    data = _product_form(name="Stoneware Mug", slug=mug.slug, unit_amount="21.00")

    assert editor_client.post(preview, data).json()["is_valid"]
    response = editor_client.get(preview)

    assert response.status_code == 200
    assert "$21.00" in response.content.decode()


def test_editor_cannot_reach_user_or_group_management(editor_client):
    for url in (reverse("wagtailusers_users:index"), reverse("wagtailusers_groups:index")):
        response = editor_client.get(url)
        assert response.status_code in (302, 403)
        if response.status_code == 302:
            assert "/admin/" in response["Location"] and "users" not in response["Location"]


def test_editors_group_has_exactly_the_shop_permissions(seeded_shop):
    group = Group.objects.get(name="Editors")
    codenames = set(group.permissions.values_list("codename", flat=True))

    assert codenames == {
        "access_admin",
        "add_product",
        "change_product",
        "publish_product",
        "add_shippingrate",
        "change_shippingrate",
        "publish_shippingrate",
        "add_promotioncode",
        "change_promotioncode",
        "publish_promotioncode",
        "view_order",
    }


def test_product_listing_shows_formatted_prices_and_filters_by_availability(admin_client):
    Product.objects.filter(slug="canvas-tote").update(available=False)
    index = reverse("wagtailsnippets_shop_product:list")

    body = admin_client.get(index).content.decode()
    assert "$18.00" in body and "Canvas Tote" in body

    body = admin_client.get(index, {"available": "true"}).content.decode()
    assert "Stoneware Mug" in body and "Canvas Tote" not in body

    body = admin_client.get(index, {"q": "tote"}).content.decode()
    assert "Canvas Tote" in body and "Stoneware Mug" not in body


@pytest.mark.parametrize(
    "description",
    [
        "Hand-thrown stoneware.",
        "[]",
        '{"blocks": 5}',
        '{"blocks":[{"text":"x","entityRanges":[{"key":9,"offset":0,"length":1}]}],"entityMap":{}}',
    ],
)
def test_a_description_that_is_not_draftail_json_is_a_form_error(admin_client, description):
    response = admin_client.post(reverse(ADD_URL), _product_form(description=description))

    assert response.status_code == 200
    errors = response.context["form"].errors["description"]
    assert any("could not be read" in error for error in errors), errors
    assert not Product.objects.filter(slug="linen-napkins").exists()


def test_previewing_a_description_that_is_not_draftail_json_reports_it_invalid(editor_client):
    mug = Product.objects.get(slug="stoneware-mug")
    preview = reverse("wagtailsnippets_shop_product:preview_on_edit", args=[mug.pk])
    data = _product_form(name=mug.name, slug=mug.slug, description="plain text")

    response = editor_client.post(preview, data)

    assert response.status_code == 200 and not response.json()["is_valid"]


def test_an_empty_slug_is_filled_from_the_name_and_kept_unique(admin_client):
    for _ in range(2):
        response = admin_client.post(reverse(ADD_URL), _product_form(name="Stoneware Mug", slug=""))
        assert response.status_code == 302, response.context["form"].errors

    slugs = sorted(Product.objects.filter(name="Stoneware Mug").values_list("slug", flat=True))
    assert slugs == ["stoneware-mug", "stoneware-mug-2", "stoneware-mug-3"]


def test_a_name_with_no_letters_for_a_slug_still_gets_one(admin_client):
    response = admin_client.post(reverse(ADD_URL), _product_form(name="☕☕", slug=""))

    assert response.status_code == 302
    assert Product.objects.get(name="☕☕").slug == "product"


def _listing_rows(client, **params) -> dict[str, dict[str, str]]:
    """The product listing as {product name: {column heading: cell text}}."""
    response = client.get(reverse("wagtailsnippets_shop_product:list"), params)
    assert response.status_code == 200
    table = BeautifulSoup(response.content, "html.parser").select_one("table.listing")
    headings = [" ".join(th.get_text(" ").split()) for th in table.select("thead th")]
    rows = {}
    for tr in table.select("tbody tr"):
        cells = [" ".join(td.get_text(" ").split()) for td in tr.find_all(["td", "th"])]
        name = Product.objects.get(pk=tr.select_one("[data-object-id]")["data-object-id"]).name
        rows[name] = dict(zip(headings, cells, strict=False))
    return rows


def test_product_listing_shows_stock_held_and_sold_or_a_dash_when_not_tracked(admin_client):
    mug = Product.objects.get(slug="stoneware-mug")
    Product.objects.filter(pk=mug.pk).update(stock=12)
    stock_line_make(mug, 3)
    stock_line_make(mug, 2, sold=True)

    rows = _listing_rows(admin_client)

    assert (rows["Stoneware Mug"]["Stock"], rows["Stoneware Mug"]["Held"]) == ("12", "3")
    assert rows["Stoneware Mug"]["Sold"] == "2"
    tote = rows["Canvas Tote"]
    assert (tote["Stock"], tote["Held"], tote["Sold"]) == ("—", "—", "—")


def test_product_listing_reads_stock_in_the_same_queries_however_many_products(admin_client):
    def stock_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(reverse("wagtailsnippets_shop_product:list")).status_code == 200
        # Wagtail's own status column asks per row for a schedule; stock must not add to it.
        return sum(
            "shop_orderline" in query["sql"] or '"stock"' in query["sql"]
            for query in queries.captured_queries
        )

    for product in Product.objects.all():
        Product.objects.filter(pk=product.pk).update(stock=20)
        stock_line_make(product, 1)
    before = stock_queries()
    for number in range(5):
        more = product_create(
            name=f"Extra {number}",
            slug=f"extra-{number}",
            description="",
            unit_amount=500,
            currency="usd",
        )
        Product.objects.filter(pk=more.pk).update(stock=9)
        stock_line_make(more, 2, sold=True)

    assert _listing_rows(admin_client)["Extra 4"]["Sold"] == "2"
    assert stock_queries() == before


def test_edit_form_says_plainly_what_is_held_and_sold(admin_client):
    mug = Product.objects.get(slug="stoneware-mug")
    Product.objects.filter(pk=mug.pk).update(stock=12)
    stock_line_make(mug, 3)
    stock_line_make(mug, 2, sold=True)

    body = admin_client.get(reverse("wagtailsnippets_shop_product:edit", args=[mug.pk]))

    text = " ".join(BeautifulSoup(body.content, "html.parser").get_text(" ").split())
    assert "12 in stock, 3 held by open checkouts, 2 sold: 7 available." in text


def test_edit_form_explains_an_empty_stock_for_an_untracked_product(admin_client):
    tote = Product.objects.get(slug="canvas-tote")

    body = admin_client.get(reverse("wagtailsnippets_shop_product:edit", args=[tote.pk]))

    text = " ".join(BeautifulSoup(body.content, "html.parser").get_text(" ").split())
    assert "Leave empty not to track stock" in text
    assert "held by open checkouts" not in text


def test_editor_can_lower_stock_while_units_are_held(editor_client):
    mug = Product.objects.get(slug="stoneware-mug")
    Product.objects.filter(pk=mug.pk).update(stock=12)
    stock_line_make(mug, 3)
    edit = reverse("wagtailsnippets_shop_product:edit", args=[mug.pk])

    response = editor_client.post(
        edit, _product_form(name=mug.name, slug=mug.slug, unit_amount="18.00", stock="2")
    )

    assert response.status_code == 302, response.content[:2000]
    mug.refresh_from_db()
    assert mug.stock == 2
    text = " ".join(
        BeautifulSoup(editor_client.get(edit).content, "html.parser").get_text(" ").split()
    )
    assert "2 in stock, 3 held by open checkouts, 0 sold: 0 available." in text


def test_an_empty_stock_is_not_tracked(admin_client):
    response = admin_client.post(reverse(ADD_URL), _product_form(stock=""))

    assert response.status_code == 302, response.content[:2000]
    assert Product.objects.get(slug="linen-napkins").stock is None


def test_a_stripe_tax_code_is_stored_and_left_empty_is_allowed(admin_client):
    response = admin_client.post(reverse(ADD_URL), _product_form(tax_code="txcd_99999999"))

    assert response.status_code == 302, response.content[:2000]
    assert Product.objects.get(slug="linen-napkins").tax_code == "txcd_99999999"
    response = admin_client.post(
        reverse(ADD_URL), _product_form(slug="plain-napkins", name="Plain", tax_code="")
    )
    assert response.status_code == 302
    assert Product.objects.get(slug="plain-napkins").tax_code == ""


@pytest.mark.parametrize("code", ["txcd_1234567", "TXCD_12345678", "txcd_123456789", "12345678"])
def test_a_tax_code_of_another_shape_is_refused_with_a_clear_form_error(admin_client, code):
    response = admin_client.post(reverse(ADD_URL), _product_form(tax_code=code))

    assert response.status_code == 200
    (error,) = response.context["form"].errors["tax_code"]
    assert '"txcd_" followed by 8 digits' in error
    assert not Product.objects.filter(slug="linen-napkins").exists()
