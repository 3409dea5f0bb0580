from __future__ import annotations

from decimal import Decimal

import pytest
from babel.numbers import get_currency_precision
from hypothesis import given
from hypothesis import strategies as st

from bot.models.money import (
    CURRENCIES,
    MoneyError,
    currency,
    fee_split,
    format_plain,
    percent_of,
    to_major,
    to_minor,
)


@pytest.mark.parametrize(
    ("amount", "code", "minor"),
    [
        ("12000", "JPY", 12000),
        (12000, "JPY", 12000),
        ("12000.0", "JPY", 12000),
        ("12.50", "USD", 1250),
        (12.5, "USD", 1250),
        ("12", "USD", 1200),
        ("0.01", "USD", 1),
        ("9.99", "EUR", 999),
        (Decimal("3.10"), "eur", 310),
    ],
)
def test_to_minor(amount: str | float | Decimal, code: str, minor: int) -> None:
    assert to_minor(amount, code) == minor


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("12.5", "JPY"),
        ("0.1", "JPY"),
        ("12.505", "USD"),
        ("0.001", "EUR"),
        ("abc", "USD"),
        ("", "JPY"),
        ("inf", "USD"),
        ("nan", "JPY"),
        ("10", "XYZ"),
        # exponents far beyond any budget: refused, not an Overflow nor a number of millions of digits
        ("1e10000000", "JPY"),
        ("1e999999", "USD"),
        ("1e19", "JPY"),
        ("-1e10000000", "EUR"),
    ],
)
def test_to_minor_refuses_what_the_currency_cannot_hold(amount: str, code: str) -> None:
    with pytest.raises(MoneyError):
        to_minor(amount, code)


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(["JPY", "USD", "EUR"]))
def test_to_major_and_back(minor: int, code: str) -> None:
    assert to_minor(to_major(minor, code), code) == minor


@pytest.mark.parametrize(
    ("minor", "code", "text"),
    [(12000, "JPY", "¥12,000"), (1250, "USD", "$12.50"), (-5, "EUR", "-€0.05"), (0, "USD", "$0.00")],
)
def test_format_plain(minor: int, code: str, text: str) -> None:
    assert format_plain(minor, code) == text


@pytest.mark.parametrize(
    ("price", "percent", "fee", "payout"),
    [
        (10000, 10, 1000, 9000),
        (999, 10, 99, 900),  # 99.9 rounds down
        (1, 10, 0, 1),
        (1999, 15, 299, 1700),  # 299.85 rounds down
        (5000, 0, 0, 5000),
        (5000, 100, 5000, 0),
        (0, 10, 0, 0),
    ],
)
def test_fee_split_rounds_the_fee_down(price: int, percent: int, fee: int, payout: int) -> None:
    assert fee_split(price, percent) == (fee, payout)


@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=0, max_value=100))
def test_fee_plus_payout_is_the_price(price: int, percent: int) -> None:
    fee, payout = fee_split(price, percent)
    assert fee + payout == price
    assert 0 <= fee <= price
    assert fee == price * percent // 100  # exact, rounded down


@pytest.mark.parametrize(("price", "percent"), [(-1, 10), (100, -1), (100, 101)])
def test_fee_split_refuses(price: int, percent: int) -> None:
    with pytest.raises(MoneyError):
        fee_split(price, percent)


def test_percent_of() -> None:
    assert percent_of(999, 50) == 499
    assert percent_of(1000, 0) == 0
    with pytest.raises(MoneyError):
        percent_of(1000, 101)


@pytest.mark.parametrize("code", sorted(CURRENCIES))
def test_the_minor_units_table_agrees_with_babel(code: str) -> None:
    """Amounts are stored in our table's minor units and shown with Babel's CLDR decimals:
    a currency where they differ would show 1250 cents as 1,250 or 12.5."""
    assert currency(code).decimals == get_currency_precision(code)
