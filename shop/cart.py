"""The cart a shopper posts: parsed, validated and priced from the database.

The browser sends product ids, quantities and a checkout token; every price comes from
the live catalogue. The form also sends the prices it showed (``price_<id>``), only to be
compared: when one differs from today's, :class:`PricesChanged` lets the shopper see the
new prices before anything is ordered. Anything wrong raises :class:`CartError` with a
message a shopper understands, and nothing is written.
"""

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from shop import selectors
from shop.models import Product
from shop.money import MAXIMUM_CHARGE, MINIMUM_CHARGE, format_money

QUANTITY_FIELD_PREFIX = "qty_"
SHOWN_PRICE_FIELD_PREFIX = "price_"
# Sent by the "Buy them again?" button: the shopper knows they bought this cart just now.
REPEAT_CONFIRMED_FIELD = "confirm_repeat"
# Longest shown price we parse (minor units); a longer one was not shown by our page.
_MAX_PRICE_DIGITS = 12
# Longest quantity string we bother to parse; anything longer is not a quantity.
_MAX_QUANTITY_DIGITS = 6
_DIGITS = re.compile(r"[0-9]+")
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


EXPIRED_PAGE_MESSAGE = "This page has expired. Please reload it and try again."


class CartError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class PriceChange:
    product: Product
    shown_amount: int

    @property
    def description(self) -> str:
        shown = format_money(self.shown_amount, self.product.currency)
        return f"{self.product.name} is now {self.product.price_display} (was {shown})"


class PricesChanged(Exception):
    """Prices went live after the shopper loaded the page; ``message`` is safe to show them."""

    def __init__(self, changes: list[PriceChange]):
        self.changes = changes
        self.message = (
            "Prices changed since you opened this page: "
            + "; ".join(change.description for change in changes)
            + ". Nothing was ordered. Please check the new total and press Buy again."
        )
        super().__init__(self.message)


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
    # The shopper confirmed buying again a cart they paid for a few minutes ago.
    repeat_confirmed: bool = False

    @property
    def amount_total(self) -> int:
        return sum(line.amount for line in self.lines)


def parse_checkout_token(raw) -> uuid.UUID:
    if not isinstance(raw, str) or not raw.strip():
        raise CartError(EXPIRED_PAGE_MESSAGE)
    try:
        return uuid.UUID(raw.strip())
    except ValueError as exc:
        raise CartError(EXPIRED_PAGE_MESSAGE) from exc


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


def _parse_shown_price(raw) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    if isinstance(raw, str) and _DIGITS.fullmatch(raw.strip()):
        text = raw.strip()
        if len(text) <= _MAX_PRICE_DIGITS:
            return int(text)
    raise CartError(EXPIRED_PAGE_MESSAGE)


def _product_id(field: str, prefix: str = QUANTITY_FIELD_PREFIX) -> int | None:
    if not field.startswith(prefix):
        return None
    suffix = field[len(prefix) :]
    if _DIGITS.fullmatch(suffix) and len(suffix) <= 18:
        return int(suffix)
    return None


def _is_cart_field(field: str) -> bool:
    return field.startswith((QUANTITY_FIELD_PREFIX, SHOWN_PRICE_FIELD_PREFIX)) or (
        field == REPEAT_CONFIRMED_FIELD
    )


def quantities_from_form(data: Mapping[str, list]) -> dict[str, object]:
    """The cart fields of a form post: ``qty_<id>``, ``price_<id>`` (shown prices) and the
    repeat confirmation; a field sent twice is ambiguous and refused."""
    fields = {}
    for field, values in data.items():
        if not _is_cart_field(field):
            continue
        if len(values) != 1:
            raise CartError("Each product's quantity may be sent only once.")
        fields[field] = values[0]
    return fields


def quantities_from_json(body: Mapping) -> dict[str, object]:
    """``{"quantities": {"<product id>": n}}`` as ``qty_<id>`` fields; optional
    ``"shown_prices": {"<product id>": minor units}`` and ``"confirm_repeat": true``."""
    raw = body.get("quantities")
    if not isinstance(raw, Mapping):
        raise CartError('Send the quantities as {"quantities": {"<product id>": n}}.')
    fields: dict[str, object] = {
        f"{QUANTITY_FIELD_PREFIX}{key}": value for key, value in raw.items()
    }
    shown = body.get("shown_prices")
    if shown is not None:
        if not isinstance(shown, Mapping):
            raise CartError(
                'Send the prices you showed as {"shown_prices": {"<product id>": amount}}.'
            )
        fields.update({f"{SHOWN_PRICE_FIELD_PREFIX}{key}": value for key, value in shown.items()})
    if body.get(REPEAT_CONFIRMED_FIELD) is True:
        fields[REPEAT_CONFIRMED_FIELD] = "1"
    return fields


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
    """Validate quantities against the live catalogue and price them from the database.

    Raises CartError for a cart we cannot take, and PricesChanged when a price the page
    showed for a chosen product is not today's.
    """
    wanted: dict[int, int] = {}
    shown: dict[int, int] = {}
    for field, raw in fields.items():
        if field == REPEAT_CONFIRMED_FIELD:
            continue
        if field.startswith(SHOWN_PRICE_FIELD_PREFIX):
            product_id = _product_id(field, SHOWN_PRICE_FIELD_PREFIX)
            if product_id is None:
                raise CartError(EXPIRED_PAGE_MESSAGE)
            shown[product_id] = _parse_shown_price(raw)
            continue
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
    # In the shop's order, as products_by_id_for_sale gives them.
    lines = tuple(CartLine(product=p, quantity=wanted[pid]) for pid, p in products.items())
    currencies = {line.product.currency for line in lines}
    if len(currencies) != 1:
        raise CartError("Products priced in different currencies must be bought separately.")
    changes = [
        PriceChange(product=line.product, shown_amount=shown[line.product.pk])
        for line in lines
        if line.product.pk in shown and shown[line.product.pk] != line.product.unit_amount
    ]
    if changes:
        raise PricesChanged(changes)
    cart = Cart(
        checkout_token=checkout_token,
        lines=lines,
        currency=currencies.pop(),
        repeat_confirmed=bool(str(fields.get(REPEAT_CONFIRMED_FIELD, "")).strip()),
    )
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
