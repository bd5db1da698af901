"""Money: integer counts of a currency's minor unit, formatted in one place.

Amounts are never floats. ``format_money(1250, "usd") == "$12.50"``; editors type
``12.50``, ``12,50`` or ``$12.50`` and :func:`parse_amount` turns it into ``1250``.
"""

import re
from decimal import Decimal

# The smallest and largest charge are the payment provider's; orders are held to them.
from shop.payments.limits import MAXIMUM_CHARGE, MINIMUM_CHARGE  # noqa: F401

# The currencies the shop is set up to sell in, with their symbol.
CURRENCY_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$", "jpy": "¥"}
CURRENCY_CHOICES = [(code, code.upper()) for code in CURRENCY_SYMBOLS]
# Zero-decimal currencies among ours: the minor unit is the whole unit.
ZERO_DECIMAL_CURRENCIES = {"jpy"}
# No single product costs more than this many minor units ($10,000.00).
MAX_UNIT_AMOUNT = 1_000_000


def decimal_places(currency: str) -> int:
    return 0 if currency.lower() in ZERO_DECIMAL_CURRENCIES else 2


def to_decimal(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-decimal_places(currency))


def format_money(amount: int, currency: str) -> str:
    """``$12.50``, ``-$3.00``, ``¥1,200``; unknown currencies read ``12.50 XYZ``."""
    currency = currency.lower()
    places = decimal_places(currency)
    sign = "-" if amount < 0 else ""
    number = f"{to_decimal(abs(amount), currency):,.{places}f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    if symbol is None:
        return f"{sign}{number} {currency.upper()}"
    return f"{sign}{symbol}{number}"


# How an editor may write an amount: digits with one decimal point or comma, or digits
# grouped in thousands with the other mark as the decimal separator. ASCII digits only.
_PLAIN = re.compile(r"(?P<units>[0-9]+)(?:(?P<mark>[.,])(?P<fraction>[0-9]+))?")
_GROUPED = (
    re.compile(r"(?P<units>[0-9]{1,3}(?:,[0-9]{3})+)(?:\.(?P<fraction>[0-9]+))?"),
    re.compile(r"(?P<units>[0-9]{1,3}(?:\.[0-9]{3})+)(?:,(?P<fraction>[0-9]+))?"),
)
# Longer input is not an amount anyone typed.
_MAX_AMOUNT_LENGTH = 40


def amount_forms(currency: str) -> str:
    """The accepted ways of writing an amount, for messages: ``12.50, 12,50 or $12.50``."""
    if decimal_places(currency) == 0:
        return f"1200 or {format_money(1200, currency)}"
    return f"12.50, 12,50 or {format_money(1250, currency)}"


def parse_amount(value: str | Decimal, currency: str) -> int:
    """Turn what an editor typed into minor units: ``"12.50"``, ``"12,50"``, ``"$12.50"`` → 1250.

    ``1,250.00`` and ``1.250,00`` are read too, but ``1,250`` (twelve hundred and fifty, or
    one and a quarter?) is refused rather than guessed: an amount is never scaled silently.
    ValueError, with a message naming the accepted forms, for anything else.
    """
    forms = amount_forms(currency)
    text = str(value).strip()
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"Enter an amount such as {forms}.")
        text = f"{value:f}"
    if len(text) > _MAX_AMOUNT_LENGTH:
        raise ValueError("That amount is too large.")
    sign = 1
    if text.startswith("-"):
        sign, text = -1, text[1:].lstrip()
    symbol = CURRENCY_SYMBOLS.get(currency.lower())
    if symbol and text.startswith(symbol):
        text = text[len(symbol) :].lstrip()
    units, fraction = _split(text, forms)
    places = decimal_places(currency)
    if len(fraction.rstrip("0")) > places or len(fraction) > max(places, 2):
        raise ValueError(f"Use at most {places} decimal places, e.g. {forms}.")
    number = Decimal(f"{units}.{fraction or 0}")
    minor = number.scaleb(places)
    if abs(minor) > 10**15:
        raise ValueError("That amount is too large.")
    return sign * int(minor)


def _split(text: str, forms: str) -> tuple[str, str]:
    """(whole units, fraction digits) of an unsigned amount without its symbol."""
    plain = _PLAIN.fullmatch(text)
    if plain:
        if plain["mark"] == "," and len(plain["fraction"]) == 3:
            raise ValueError(
                f"{text} could mean thousands or a decimal comma. Write it as {forms}."
            )
        return plain["units"], plain["fraction"] or ""
    for grouped in _GROUPED:
        match = grouped.fullmatch(text)
        if match:
            return re.sub(r"[.,]", "", match["units"]), match["fraction"] or ""
    raise ValueError(f"Enter an amount such as {forms}.")
