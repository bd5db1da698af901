"""The admin dashboard as an editor sees it: the store's name, avatars, the orders panel."""

import datetime as dt

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Site

from home.models import StoreSettings
from shop.models import Product
from tests.support.orders import order_make
from tests.support.stock import stock_line_make

pytestmark = pytest.mark.django_db


def _dashboard(client) -> BeautifulSoup:
    response = client.get(reverse("wagtailadmin_home"))
    assert response.status_code == 200
    return BeautifulSoup(response.content, "html.parser")


def test_avatars_are_served_by_the_shop_not_gravatar(editor_client):
    page = _dashboard(editor_client)

    avatars = page.select("img.avatar, .avatar img")
    assert avatars
    for avatar in avatars:
        # Anything off-site is blocked by our Content-Security-Policy: a broken image.
        assert avatar["src"].startswith("/static/"), avatar["src"]


def test_dashboard_is_headed_with_the_store_name_editors_set(editor_client):
    settings = StoreSettings.for_site(Site.objects.get(is_default_site=True))
    settings.store_name = "Bramble & Wren"
    settings.save()

    heading = _dashboard(editor_client).select_one("main h1")

    assert heading.get_text(strip=True) == "Bramble & Wren"


def test_orders_panel_explains_unfinished_checkouts_in_an_editors_words(editor_client):
    stuck_since = timezone.now() - dt.timedelta(hours=2)
    order_make(session_id="cs_test_left_the_page", created_at=stuck_since)

    panel = _dashboard(editor_client).select_one("#shop-orders-summary-section")

    text = " ".join(panel.get_text(" ").split())
    assert "1 unfinished checkout started more than 30 minutes ago and not paid" in text
    assert "nothing to do unless a customer asks" in text
    # Nothing an editor could run: no commands, no "confirmation" jargon.
    assert "manage.py" not in text
    assert "awaiting payment confirmation" not in text


def test_orders_panel_says_when_no_checkout_is_unfinished(editor_client):
    panel = _dashboard(editor_client).select_one("#shop-orders-summary-section")

    assert "No unfinished checkouts older than 30 minutes." in " ".join(panel.get_text().split())


def _stock_panel(client) -> BeautifulSoup:
    return _dashboard(client).select_one("#shop-stock-alerts-section")


def test_stock_panel_lists_sold_out_and_low_products_linking_to_their_edit_page(editor_client):
    StoreSettings.objects.update(low_stock_threshold=5)
    mug, tote, notebook = (
        Product.objects.get(slug=slug)
        for slug in ("stoneware-mug", "canvas-tote", "dot-grid-notebook")
    )
    Product.objects.filter(pk=mug.pk).update(stock=3)
    stock_line_make(mug, 3, sold=True)
    Product.objects.filter(pk=tote.pk).update(stock=6)
    stock_line_make(tote, 2)
    Product.objects.filter(pk=notebook.pk).update(stock=50)

    panel = _stock_panel(editor_client).select_one("[data-low-stock]")

    entries = [" ".join(li.get_text(" ").split()) for li in panel.select("li")]
    assert entries == [
        "Stoneware Mug : Sold out",
        "Canvas Tote : 4 left (2 held by open checkouts)",
    ]
    links = [a["href"] for a in panel.select("li a")]
    assert links == [
        reverse("wagtailsnippets_shop_product:edit", args=[mug.pk]),
        reverse("wagtailsnippets_shop_product:edit", args=[tote.pk]),
    ]


def test_stock_panel_says_when_nothing_is_running_out(editor_client):
    panel = _stock_panel(editor_client)

    text = " ".join(panel.get_text(" ").split())
    assert "No product is sold out or has fewer than 5 left." in text
    assert "No order was paid for units that were no longer in stock." in text


def test_stock_panel_lists_oversold_orders_linking_to_their_inspect_page(editor_client):
    mug = Product.objects.get(slug="stoneware-mug")
    order = stock_line_make(mug, 1, sold=True, oversold=True).order
    stock_line_make(mug, 1, sold=True)

    panel = _stock_panel(editor_client).select_one("[data-oversold]")

    text = " ".join(panel.get_text(" ").split())
    assert "1 order paid for units no longer in stock" in text
    assert [a["href"] for a in panel.select("li a")] == [reverse("orders:inspect", args=[order.pk])]
    assert panel.select_one("li").get_text(" ", strip=True) == f"{order.reference} Oversold"
