"""A shopper's browser on the test client, and the shop's pages read as a shopper reads them.

Everything here acts from the outside, as a shopper would: pages are read from HTML.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from bs4 import BeautifulSoup
from django.http import HttpResponse
from django.test import Client, TestCase

from shop.models import Product

CANCELED_MESSAGE = "Checkout canceled — you were not charged."
UNAVAILABLE_MESSAGE = (
    "The payment service is unavailable right now; you have not been charged. Please try again."
)


class Browser:
    """A shopper's browser: a test client whose every request commits, as it does in production.

    The tests run inside a transaction that is never committed, so Django would otherwise
    never run ``on_commit`` work such as the confirmation e-mail.
    """

    def __init__(self, client: Client | None = None) -> None:
        self.client = client or Client()

    def get(self, path: str, **extra: Any) -> HttpResponse:
        with TestCase.captureOnCommitCallbacks(execute=True):
            return self.client.get(path, **extra)

    def post(self, path: str, data: Any = None, **extra: Any) -> HttpResponse:
        with TestCase.captureOnCommitCallbacks(execute=True):
            return self.client.post(path, data, **extra)

    def page_token(self) -> str:
        """The checkout token the shop page renders into its Buy form."""
        return checkout_token_in(self.get("/"))

    def buy(self, token: str, quantities: Mapping[Product, int], **fields: str) -> HttpResponse:
        """Press Buy on the shop page's form with these quantities, encoded as a browser does."""
        return self.post_form("/checkout/", buy_form(token, quantities, **fields))

    def buy_on(self, page: HttpResponse, quantities: Mapping[Product, int]) -> HttpResponse:
        """Press Buy on a page loaded earlier: its token and shown prices, these quantities."""
        return self.post_form("/checkout/", {**hidden_fields_of(page), **buy_form("", quantities)})

    def post_form(self, path: str, data: Mapping[str, Any]) -> HttpResponse:
        return self.post(
            path, urlencode(data, doseq=True), content_type="application/x-www-form-urlencoded"
        )

    def buy_json(self, token: str, quantities: Mapping[Product, int]) -> HttpResponse:
        body = {
            "checkout_token": token,
            "quantities": {str(p.pk): qty for p, qty in quantities.items()},
        }
        return self.post("/checkout/", json.dumps(body), content_type="application/json")

    def visit(self, url: str) -> HttpResponse:
        """Follow an absolute or relative URL (Stripe redirects to absolute ones)."""
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return self.get(path)

    def shop_page(self) -> ShopPageView:
        return ShopPageView(self.get("/"))

    def refused_buy(self, product: Product) -> None:
        """A Buy refused once the shopper is known (an unknown promotion code): nothing is
        ordered, and the browser now holds a session with a guest token (a first visit
        gives none, only the guest cookie)."""
        response = self.buy(self.page_token(), {product: 1}, promotion_code="NO-SUCH-CODE")
        assert response.status_code == 400, response.status_code

    def cookies(self) -> dict[str, str]:
        """This browser's cookies, name → value."""
        return {name: morsel.value for name, morsel in self.client.cookies.items()}

    @classmethod
    def with_cookies(cls, cookies: Mapping[str, str]) -> Browser:
        """Another browser (or another connection of the same one) sending these cookies."""
        browser = cls()
        browser.client.cookies.load(dict(cookies))
        return browser


# What a shopper types on the test payment page to pay for a shipped order: a US address
# and the first (Standard) rate.
ADDRESS_FIELDS = {
    "name": "Ada Lovelace",
    "line1": "12 Analytical Row",
    "line2": "",
    "city": "Springfield",
    "postal_code": "62701",
    "region": "IL",
    "country": "US",
    "rate": "0",
}


def pay_form(email: str = "ada@example.com", **fields: str) -> dict[str, str]:
    """The test payment page's Pay form: the e-mail, the address and the rate."""
    return {"action": "pay", "email": email, **ADDRESS_FIELDS, **fields}


def buy_form(token: str, quantities: Mapping[Product, int], **fields: str) -> dict[str, Any]:
    form = {
        "checkout_token": token,
        **{f"qty_{p.pk}": str(qty) for p, qty in quantities.items()},
        **fields,
    }
    return form if token else {k: v for k, v in form.items() if k != "checkout_token"}


def hidden_fields_of(response: HttpResponse, form: str = "[data-buy-form]") -> dict[str, str]:
    """The hidden fields a form on the page sends (checkout token, shown prices, ...)."""
    found = soup_of(response).select_one(f"form{form}")
    assert found is not None, f"the page has no {form} form"
    return {field["name"]: field["value"] for field in found.select("input[type=hidden]")}


def form_fields_of(response: HttpResponse, form: str) -> dict[str, str]:
    """Every named field a form on the page sends as it stands."""
    found = soup_of(response).select_one(form)
    assert found is not None, f"the page has no {form} form"
    return {field["name"]: field.get("value", "") for field in found.select("input[name]")}


def guest_client(token: str) -> Client:
    """A guest's browser whose session holds the guest token ``token`` (their orders')."""
    from shop.shoppers import GUEST_TOKEN_SESSION_KEY

    client = Client()
    session = client.session
    session[GUEST_TOKEN_SESSION_KEY] = token
    session.save()
    return client


def soup_of(response: HttpResponse) -> BeautifulSoup:
    return BeautifulSoup(response.content, "html.parser")


def checkout_token_in(response: HttpResponse) -> str:
    field = soup_of(response).find("input", attrs={"name": "checkout_token"})
    assert field is not None, "the page has no Buy form"
    return field["value"]


def text_of(response: HttpResponse) -> str:
    return soup_of(response).get_text(" ", strip=True)


class ShopPageView:
    """The shop page as a shopper reads it: messages, chosen quantities, My orders."""

    def __init__(self, response: HttpResponse) -> None:
        assert response.status_code == 200, response.status_code
        self.response = response
        self.soup = soup_of(response)

    @property
    def messages(self) -> list[str]:
        return [p.get_text(" ", strip=True) for p in self.soup.select(".messages .message")]

    def order(self, reference: str) -> str | None:
        """The text of one order under My orders, or None when it is not listed."""
        heading = self.soup.find(id=f"order-{reference}")
        if heading is None:
            return None
        return heading.find_parent("article").get_text(" ", strip=True)

    @property
    def listed_references(self) -> list[str]:
        return [
            h.get_text(strip=True).removeprefix("Order ")
            for h in self.soup.select(".my-orders .order__reference")
        ]


def location(response: HttpResponse) -> str:
    assert response.status_code in (301, 302, 303), response.status_code
    return response["Location"]
