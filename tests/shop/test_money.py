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


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("12.50", "usd", 1250),
        ("12,50", "usd", 1250),
        ("$12.50", "usd", 1250),
        (" $ 12,5 ", "usd", 1250),
        ("12", "usd", 1200),
        ("1,250.00", "usd", 125000),
        ("1.250,00", "usd", 125000),
        ("$1,234,567.89", "usd", 123456789),
        ("€9,99", "eur", 999),
        ("-3.00", "usd", -300),
        ("1200", "jpy", 1200),
    ],
)
def test_parse_amount_reads_decimal_points_commas_and_the_currency_symbol(text, currency, expected):
    assert parse_amount(text, currency) == expected


@pytest.mark.parametrize("text", ["1,250", "12,500", "$1,250", "1.250"])
def test_parse_amount_refuses_an_amount_it_would_have_to_guess_the_scale_of(text):
    with pytest.raises(ValueError) as refused:
        parse_amount(text, "usd")
    message = str(refused.value)
    assert "12.50" in message and "12,50" in message and "$12.50" in message


@pytest.mark.parametrize("text", ["€12.50", "12.50.00", "1,25,0", "12,,50", "١٢", "１２", "1 250"])
def test_parse_amount_refuses_other_currencies_and_malformed_numbers(text):
    with pytest.raises(ValueError):
        parse_amount(text, "usd")
