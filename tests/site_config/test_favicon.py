"""Browsers get the shop's own icon: at /favicon.ico and from the link on every page."""

import io

import pytest
from bs4 import BeautifulSoup
from django.contrib.staticfiles import finders
from PIL import Image


def test_favicon_ico_is_an_icon_at_the_sizes_browsers_ask_for(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert "max-age" in response["Cache-Control"]
    with Image.open(io.BytesIO(b"".join(response.streaming_content))) as icon:
        assert icon.format == "ICO"
        assert {(16, 16), (32, 32)} <= set(icon.info["sizes"])


@pytest.mark.django_db
def test_pages_link_the_svg_icon_and_the_ico(client, shop):
    page = BeautifulSoup(client.get("/").content, "html.parser")

    links = {link["href"]: link.get("type") for link in page.select("link[rel=icon]")}
    assert links == {"/static/favicon.svg": "image/svg+xml", "/favicon.ico": None}
    svg = finders.find("favicon.svg")
    assert svg
    with open(svg) as drawing:
        assert drawing.read().startswith("<svg")
