"""Every bad checkout a browser or a script can send: a clear 4xx, and nothing written.

A form post gets the shop page back with the message and the shopper's chosen quantities
still in the inputs; a JSON request gets ``{"error": ...}``.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from django.test import Client

from shop.models import LocalCheckoutSession, Order, OrderLine, Product, ShopPage
from shop.services.products import product_create
from tests.support.shopper import Browser, soup_of

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

EXPIRED = "This page has expired. Please reload it and try again."
NOT_AVAILABLE = (
    "One of the products you chose is no longer available. Please check your choices and try again."
)
NOT_IN_SHOP = "One of the products you chose is not in our shop."
WHOLE = "Quantities must be whole numbers."
NEGATIVE = "Quantities can't be negative."
AT_MOST_10 = "You can buy at most 10 of each product."
NOTHING = "Choose at least one item to buy."

Ids = dict[str, str]
Body = Callable[[Ids], tuple[str | bytes, str]]


def form(*pairs: tuple[str, str]) -> Body:
    """A urlencoded form body; ``{token}`` and ``{<product>}`` are filled in per test."""

    def build(ids: Ids) -> tuple[str, str]:
        return urlencode([(k.format(**ids), v.format(**ids)) for k, v in pairs]), FORM

    return build


def as_json(make: Callable[[Ids], object]) -> Body:
    return lambda ids: (json.dumps(make(ids)), JSON)


def raw(body: bytes | str, content_type: str) -> Body:
    return lambda ids: (body, content_type)


def cart(ids: Ids, **quantities: object) -> dict:
    return {
        "checkout_token": ids["token"],
        "quantities": {ids[name]: qty for name, qty in quantities.items()},
    }


TOKEN = ("checkout_token", "{token}")


@dataclass(frozen=True)
class Bad:
    body: Body
    status: int
    message: str
    # What the re-rendered form still shows (product name → quantity); None for JSON answers.
    kept: dict[str, int] | None = field(default_factory=dict)
    max_quantity: int = 10


CASES: dict[str, Bad] = {
    "unknown product id": Bad(
        form(TOKEN, ("qty_{mug}", "1"), ("qty_987654", "1")), 400, NOT_AVAILABLE, {"mug": 1}
    ),
    "unavailable product": Bad(
        form(TOKEN, ("qty_{mug}", "2"), ("qty_{unavailable}", "1")), 400, NOT_AVAILABLE, {"mug": 2}
    ),
    "unpublished product": Bad(
        form(TOKEN, ("qty_{mug}", "2"), ("qty_{draft}", "1")), 400, NOT_AVAILABLE, {"mug": 2}
    ),
    "field that is not a product": Bad(
        form(TOKEN, ("qty_{mug}", "1"), ("qty_mug", "1")), 400, NOT_IN_SHOP, {"mug": 1}
    ),
    "missing token": Bad(form(("qty_{mug}", "1")), 400, EXPIRED, {"mug": 1}),
    "empty token": Bad(form(("checkout_token", ""), ("qty_{mug}", "1")), 400, EXPIRED, {"mug": 1}),
    "malformed token": Bad(
        form(("checkout_token", "12345-not-a-uuid"), ("qty_{mug}", "1")), 400, EXPIRED, {"mug": 1}
    ),
    "token sent twice": Bad(
        form(TOKEN, ("checkout_token", "{other_token}"), ("qty_{mug}", "1")),
        400,
        EXPIRED,
        {"mug": 1},
    ),
    "non-numeric quantity": Bad(
        form(TOKEN, ("qty_{mug}", "two"), ("qty_{tote}", "1")), 400, WHOLE, {"tote": 1}
    ),
    "negative quantity": Bad(
        form(TOKEN, ("qty_{mug}", "-1"), ("qty_{tote}", "1")), 400, NEGATIVE, {"tote": 1}
    ),
    "fractional quantity": Bad(
        form(TOKEN, ("qty_{mug}", "1.5"), ("qty_{tote}", "1")), 400, WHOLE, {"tote": 1}
    ),
    "huge quantity": Bad(
        form(TOKEN, ("qty_{mug}", "99999999999"), ("qty_{tote}", "1")), 400, AT_MOST_10, {"tote": 1}
    ),
    "quantity in non-ASCII digits": Bad(
        form(TOKEN, ("qty_{mug}", "²"), ("qty_{tote}", "1")), 400, WHOLE, {"tote": 1}
    ),
    "product id in non-ASCII digits": Bad(
        form(TOKEN, ("qty_{mug}", "1"), ("qty_²", "1")), 400, NOT_IN_SHOP, {"mug": 1}
    ),
    "above the maximum quantity": Bad(
        form(TOKEN, ("qty_{mug}", "11"), ("qty_{tote}", "1")),
        400,
        AT_MOST_10,
        {"mug": 11, "tote": 1},
    ),
    "nothing chosen": Bad(
        form(TOKEN, ("qty_{mug}", "0"), ("qty_{tote}", ""), ("qty_{notebook}", "0")), 400, NOTHING
    ),
    "no quantities at all": Bad(form(TOKEN), 400, NOTHING),
    "total below the minimum charge": Bad(
        form(TOKEN, ("qty_{cheap}", "4")),
        400,
        "The smallest order we can take is $0.50.",
        {"cheap": 4},
    ),
    "total above the maximum charge": Bad(
        form(TOKEN, ("qty_{expensive}", "100")),
        400,
        "Orders can be at most $999,999.99. Please choose fewer items.",
        {"expensive": 100},
        max_quantity=100,
    ),
    "a product left in another currency": Bad(
        form(TOKEN, ("qty_{mug}", "1"), ("qty_{euro}", "1")), 400, NOT_AVAILABLE, {"mug": 1}
    ),
    "a quantity field sent twice": Bad(
        form(TOKEN, ("qty_{mug}", "1"), ("qty_{mug}", "3"), ("qty_{tote}", "2")),
        400,
        "Each product's quantity may be sent only once.",
        {"tote": 2},
    ),
    "wrong content type": Bad(
        raw("qty=1&checkout_token=x", "text/plain"), 400, "Send the order as a form or as JSON."
    ),
    # JSON clients get {"error": ...} back.
    "malformed JSON": Bad(
        raw('{"checkout_token": ', JSON), 400, "The request body is not valid JSON.", None
    ),
    "JSON that is not UTF-8": Bad(
        raw(b'{"checkout_token": "\xff"}', JSON), 400, "The request body is not valid JSON.", None
    ),
    "JSON array": Bad(
        raw("[1, 2]", JSON),
        400,
        'Send a JSON object: {"checkout_token": ..., "quantities": {...}}.',
        None,
    ),
    "JSON quantities not an object": Bad(
        as_json(lambda ids: {"checkout_token": ids["token"], "quantities": [1, 2]}),
        400,
        'Send the quantities as {"quantities": {"<product id>": n}}.',
        None,
    ),
    "JSON without token": Bad(
        as_json(lambda ids: {"quantities": {ids["mug"]: 1}}), 400, EXPIRED, None
    ),
    "JSON token that is a number": Bad(
        as_json(lambda ids: {**cart(ids, mug=1), "checkout_token": 42}), 400, EXPIRED, None
    ),
    "JSON fractional quantity": Bad(as_json(lambda ids: cart(ids, mug=1.5)), 400, WHOLE, None),
    "JSON boolean quantity": Bad(as_json(lambda ids: cart(ids, mug=True)), 400, WHOLE, None),
    "JSON negative quantity": Bad(as_json(lambda ids: cart(ids, mug=-2)), 400, NEGATIVE, None),
    "JSON huge quantity": Bad(
        as_json(lambda ids: cart(ids, mug=99999999999)), 400, AT_MOST_10, None
    ),
    "JSON unknown product": Bad(
        as_json(lambda ids: {"checkout_token": ids["token"], "quantities": {"987654": 1}}),
        400,
        NOT_AVAILABLE,
        None,
    ),
    "JSON nothing chosen": Bad(as_json(lambda ids: cart(ids, mug=0)), 400, NOTHING, None),
    "JSON nested 200,000 deep": Bad(
        raw("[" * 200_000 + "]" * 200_000, JSON),
        400,
        "The request body is nested too deeply.",
        None,
    ),
    "JSON body over the upload limit": Bad(
        raw('{"quantities": {}, "padding": "' + "x" * 3_000_000 + '"}', JSON),
        400,
        "The order is too large. Please choose fewer items.",
        None,
    ),
    "JSON quantity nested 200,000 deep": Bad(
        raw('{"quantities": {"1": ' + "[" * 200_000 + "]" * 200_000 + "}}", JSON),
        400,
        "The request body is nested too deeply.",
        None,
    ),
}


@pytest.fixture(scope="module")
def awkward_products(module_shop: int, django_db_blocker) -> dict[str, int]:
    """Products a bad cart can name besides the seeded ones, made once for the module."""

    def make(slug: str, amount: int, *, publish: bool = True) -> int:
        return product_create(
            name=slug.title(),
            slug=slug,
            description="",
            unit_amount=amount,
            currency="usd",
            publish=publish,
        ).pk

    with django_db_blocker.unblock():
        unavailable = Product.objects.get(pk=make("unavailable", 1000))
        # Taken off the shop the way an editor does: untick "available" and publish.
        unavailable.available = False
        unavailable.save_revision().publish()
        # Priced in euros before the shop had one currency: kept, but not for sale.
        euro = make("espresso-cup", 900)
        Product.objects.filter(pk=euro).update(currency="eur")
        return {
            "cheap": make("sticker", 10),
            "expensive": make("armchair", 1_000_000),
            "euro": euro,
            "unavailable": unavailable.pk,
            "draft": make("draft", 1000, publish=False),
        }


@pytest.fixture
def catalogue(shop: ShopPage, awkward_products: dict[str, int]) -> dict[str, Product]:
    return {
        "mug": Product.objects.get(slug="stoneware-mug"),
        "tote": Product.objects.get(slug="canvas-tote"),
        "notebook": Product.objects.get(slug="dot-grid-notebook"),
        **{name: Product.objects.get(pk=pk) for name, pk in awkward_products.items()},
    }


def written() -> tuple[int, int, int]:
    return Order.objects.count(), OrderLine.objects.count(), LocalCheckoutSession.objects.count()


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_checkout_is_refused_with_a_clear_message_and_writes_nothing(
    browser: Browser, shop: ShopPage, catalogue: dict[str, Product], case: Bad
) -> None:
    if case.max_quantity != shop.max_quantity:
        shop.max_quantity = case.max_quantity
        shop.save_revision().publish()
    token = browser.page_token()
    ids = {name: str(p.pk) for name, p in catalogue.items()}
    ids |= {"token": token, "other_token": "6f1c1f6e-3c3a-4f39-9a55-0c4e1a0c9b21"}
    body, content_type = case.body(ids)
    before = written()

    response = browser.post("/checkout/", body, content_type=content_type)

    assert response.status_code == case.status
    assert written() == before
    if case.kept is None:
        assert response["Content-Type"] == "application/json"
        assert json.loads(response.content) == {"error": case.message}
        return
    soup = soup_of(response)
    assert soup.find(id="checkout-error").get_text(strip=True) == case.message
    for_sale = set(Product.objects.for_sale().values_list("pk", flat=True))
    shown = {
        name: int(soup.find("input", attrs={"name": f"qty_{p.pk}"})["value"])
        for name, p in catalogue.items()
        if p.pk in for_sale
    }
    assert shown == {name: case.kept.get(name, 0) for name in shown}


def test_bad_form_post_asking_for_json_gets_json(
    browser: Browser, catalogue: dict[str, Product]
) -> None:
    token = browser.page_token()

    response = browser.post(
        "/checkout/",
        urlencode({"checkout_token": token, f"qty_{catalogue['mug'].pk}": "-1"}),
        content_type=FORM,
        HTTP_ACCEPT="application/json",
    )

    assert response.status_code == 400
    assert json.loads(response.content) == {"error": NEGATIVE}
    assert written() == (0, 0, 0)


def test_get_is_not_allowed(browser: Browser, shop: ShopPage) -> None:
    response = browser.get("/checkout/")

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert b"Buy" in response.content
    assert written() == (0, 0, 0)


def test_post_without_csrf_token_is_refused_and_writes_nothing(
    shop: ShopPage, catalogue: dict[str, Product]
) -> None:
    browser = Browser(Client(enforce_csrf_checks=True))
    token = browser.page_token()

    response = browser.post(
        "/checkout/",
        urlencode({"checkout_token": token, f"qty_{catalogue['mug'].pk}": "1"}),
        content_type=FORM,
    )

    assert response.status_code == 403
    assert written() == (0, 0, 0)


def test_post_with_the_pages_csrf_token_is_accepted(
    shop: ShopPage, catalogue: dict[str, Product]
) -> None:
    # The refusal above must be about the missing token, not about every post.
    browser = Browser(Client(enforce_csrf_checks=True))
    page = soup_of(browser.get("/"))
    fields = {
        "csrfmiddlewaretoken": page.find("input", attrs={"name": "csrfmiddlewaretoken"})["value"],
        "checkout_token": page.find("input", attrs={"name": "checkout_token"})["value"],
        f"qty_{catalogue['mug'].pk}": "1",
    }

    response = browser.post("/checkout/", urlencode(fields), content_type=FORM)

    assert response.status_code == 303
    assert written() == (1, 1, 1)
