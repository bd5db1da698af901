"""The admin dashboard as an editor sees it: the store's name, avatars, the orders panel."""

import datetime as dt

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Site

from home.models import StoreSettings
from tests.support.orders import order_make

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
