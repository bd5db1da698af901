import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.money import format_money, parse_amount


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (1250, "usd", "$12.50"),
        (5, "usd", "$0.05"),
        (123456789, "usd", "$1,234,567.89"),
        (-300, "usd", "-$3.00"),
        (1200, "jpy", "¥1,200"),
        (999, "eur", "€9.99"),
        (1000, "xyz", "10.00 XYZ"),
    ],
)
def test_format_money(amount, currency, expected):
    assert format_money(amount, currency) == expected


@pytest.mark.parametrize("text", ["12.345", "abc", "", "NaN", "Infinity", "1e400"])
def test_parse_amount_refuses_what_is_not_exact_money(text):
    with pytest.raises(ValueError):
        parse_amount(text, "usd")


@given(st.integers(min_value=0, max_value=10**12))
def test_parse_reads_back_what_format_wrote(amount):
    text = format_money(amount, "usd").lstrip("$").replace(",", "")
    assert parse_amount(text, "usd") == amount
