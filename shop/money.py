"""Money: integer counts of a currency's minor unit, formatted in one place.

Amounts are never floats. ``format_money(1250, "usd") == "$12.50"``; editors type
``12.50`` and :func:`parse_amount` turns it into ``1250``.
"""

from decimal import Decimal, InvalidOperation

# The currencies the shop is set up to sell in, with their symbol.
CURRENCY_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$", "jpy": "¥"}
CURRENCY_CHOICES = [(code, code.upper()) for code in CURRENCY_SYMBOLS]
# Stripe's zero-decimal currencies among ours: the minor unit is the whole unit.
ZERO_DECIMAL_CURRENCIES = {"jpy"}
# Stripe refuses charges below these (in minor units).
MINIMUM_CHARGE = {"usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50, "jpy": 50}
# No single product costs more than this many minor units ($10,000.00).
MAX_UNIT_AMOUNT = 1_000_000
# Stripe's ceiling for a single charge is 99,999,999 minor units for most currencies.
MAXIMUM_CHARGE = 99_999_999


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


def parse_amount(value: str | Decimal, currency: str) -> int:
    """Turn ``"12.50"`` into ``1250``; ValueError for anything that is not exact money."""
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError("Enter an amount such as 12.50.") from exc
    if not number.is_finite():
        raise ValueError("Enter an amount such as 12.50.")
    places = decimal_places(currency)
    minor = number.scaleb(places)
    if minor != minor.to_integral_value():
        raise ValueError(f"Use at most {places} decimal places.")
    if abs(minor) > 10**15:
        raise ValueError("That amount is too large.")
    return int(minor)
