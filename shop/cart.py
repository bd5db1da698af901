"""The cart a shopper posts: parsed, validated and priced from the database.

The browser sends only product ids, quantities and a checkout token; every price comes
from the live catalogue. Anything wrong raises :class:`CartError` with a message a
shopper understands, and nothing is written.
"""

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from shop import selectors
from shop.models import Product
from shop.money import MAXIMUM_CHARGE, MINIMUM_CHARGE, format_money

QUANTITY_FIELD_PREFIX = "qty_"
# Longest quantity string we bother to parse; anything longer is not a quantity.
_MAX_QUANTITY_DIGITS = 6
_DIGITS = re.compile(r"[0-9]+")
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


class CartError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def amount(self) -> int:
        return self.product.unit_amount * self.quantity


@dataclass(frozen=True)
class Cart:
    checkout_token: uuid.UUID
    lines: tuple[CartLine, ...]
    currency: str

    @property
    def amount_total(self) -> int:
        return sum(line.amount for line in self.lines)


def parse_checkout_token(raw) -> uuid.UUID:
    if not isinstance(raw, str) or not raw.strip():
        raise CartError("This page has expired. Please reload it and try again.")
    try:
        return uuid.UUID(raw.strip())
    except ValueError as exc:
        raise CartError("This page has expired. Please reload it and try again.") from exc


def _parse_quantity(raw, max_quantity: int) -> int:
    if isinstance(raw, bool):
        raise CartError("Quantities must be whole numbers.")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str):
        text = raw.strip()
        # ASCII digits only: str.isdigit() also accepts "²", which int() then refuses.
        if text and not _WHOLE_NUMBER.fullmatch(text):
            raise CartError("Quantities must be whole numbers.")
        if len(text.lstrip("-")) > _MAX_QUANTITY_DIGITS:
            # Too long to be worth converting; its sign decides which message is true.
            value = -1 if text.startswith("-") else max_quantity + 1
        else:
            value = int(text or "0")
    else:
        raise CartError("Quantities must be whole numbers.")
    if value < 0:
        raise CartError("Quantities can't be negative.")
    if value > max_quantity:
        raise CartError(f"You can buy at most {max_quantity} of each product.")
    return value


def _product_id(field: str) -> int | None:
    suffix = field[len(QUANTITY_FIELD_PREFIX) :]
    if _DIGITS.fullmatch(suffix) and len(suffix) <= 18:
        return int(suffix)
    return None


def quantities_from_form(data: Mapping[str, list]) -> dict[str, object]:
    """``qty_<id>`` fields of a form post; a field sent twice is ambiguous and refused."""
    quantities = {}
    for field, values in data.items():
        if not field.startswith(QUANTITY_FIELD_PREFIX):
            continue
        if len(values) != 1:
            raise CartError("Each product's quantity may be sent only once.")
        quantities[field] = values[0]
    return quantities


def quantities_from_json(body: Mapping) -> dict[str, object]:
    """``{"quantities": {"<product id>": n}}`` as ``qty_<id>`` fields."""
    raw = body.get("quantities")
    if not isinstance(raw, Mapping):
        raise CartError('Send the quantities as {"quantities": {"<product id>": n}}.')
    return {f"{QUANTITY_FIELD_PREFIX}{key}": value for key, value in raw.items()}


def chosen_quantities(fields: Mapping[str, object]) -> dict[int, int]:
    """Best-effort reading of what the shopper typed, for re-rendering a refused form."""
    chosen = {}
    for field, raw in fields.items():
        product_id = _product_id(field)
        if product_id is None:
            continue
        try:
            chosen[product_id] = _parse_quantity(raw, 10**_MAX_QUANTITY_DIGITS)
        except CartError:
            continue
    return chosen


def cart_build(
    *, checkout_token: uuid.UUID, fields: Mapping[str, object], max_quantity: int
) -> Cart:
    """Validate quantities against the live catalogue and price them from the database."""
    wanted: dict[int, int] = {}
    for field, raw in fields.items():
        product_id = _product_id(field)
        if product_id is None:
            raise CartError("One of the products you chose is not in our shop.")
        quantity = _parse_quantity(raw, max_quantity)
        if quantity:
            wanted[product_id] = quantity
    if not wanted:
        raise CartError("Choose at least one item to buy.")
    products = selectors.products_by_id_for_sale(wanted)
    if len(products) != len(wanted):
        raise CartError(
            "One of the products you chose is no longer available. "
            "Please check your choices and try again."
        )
    lines = tuple(
        CartLine(product=products[pid], quantity=qty)
        for pid, qty in sorted(wanted.items(), key=lambda item: _display_order(products[item[0]]))
    )
    currencies = {line.product.currency for line in lines}
    if len(currencies) != 1:
        raise CartError("Products priced in different currencies must be bought separately.")
    cart = Cart(checkout_token=checkout_token, lines=lines, currency=currencies.pop())
    minimum = MINIMUM_CHARGE.get(cart.currency, 50)
    if cart.amount_total < minimum:
        raise CartError(
            f"The smallest order we can take is {format_money(minimum, cart.currency)}."
        )
    if cart.amount_total > MAXIMUM_CHARGE:
        raise CartError(
            f"Orders can be at most {format_money(MAXIMUM_CHARGE, cart.currency)}. "
            "Please choose fewer items."
        )
    return cart


def _display_order(product: Product):
    return (product.sort_order, product.name, product.pk)
