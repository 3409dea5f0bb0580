"""Money in integer minor units, per currency; fee arithmetic.

The table below is the source of each currency's minor units; Babel's CLDR data formats
the amounts (a test checks that both agree on the decimals).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from babel.numbers import format_currency


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    decimals: int
    symbol: str


CURRENCIES: dict[str, Currency] = {
    c.code: c
    for c in (
        Currency("JPY", 0, "¥"),
        Currency("USD", 2, "$"),
        Currency("EUR", 2, "€"),
        Currency("GBP", 2, "£"),
    )
}


class MoneyError(ValueError):
    """An amount that cannot be represented in the currency."""


def currency(code: str) -> Currency:
    try:
        return CURRENCIES[code.upper()]
    except KeyError:
        raise MoneyError(code) from None


MAX_DIGITS = 18


def to_minor(amount: float | str | Decimal, code: str) -> int:
    """Major units as typed by a user (12.50) to integer minor units (1250).

    More decimals than the currency has are refused, never rounded.
    """
    cur = currency(code)
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise MoneyError(str(amount)) from None
    # beyond any budget (a quintillion): refused before scaling, which could overflow or
    # build a number of millions of digits
    if not value.is_finite() or value.adjusted() > MAX_DIGITS:
        raise MoneyError(str(amount))
    try:
        scaled = value.scaleb(cur.decimals)
        whole = scaled == scaled.to_integral_value()
    except ArithmeticError:  # decimal's Overflow / InvalidOperation for extreme exponents
        raise MoneyError(str(amount)) from None
    if not whole:
        raise MoneyError(str(amount))
    return int(scaled)


def to_major(minor: int, code: str) -> Decimal:
    return Decimal(minor).scaleb(-currency(code).decimals)


def format_plain(minor: int, code: str) -> str:
    """Text for logs and exports, in English (CLDR ``en``): ``¥12,000`` or ``$12.50``."""
    return format_currency(to_major(minor, code), currency(code).code, locale="en")


def fee_split(price: int, fee_percent: int) -> tuple[int, int]:
    """Return (fee, payout): the fee is rounded down to the minor unit; fee + payout == price."""
    if price < 0 or not 0 <= fee_percent <= 100:
        raise MoneyError(f"{price} @ {fee_percent}%")
    fee = int((Decimal(price) * fee_percent / 100).to_integral_value(rounding=ROUND_FLOOR))
    return fee, price - fee


def percent_of(amount: int, percent: int) -> int:
    """``percent`` of ``amount``, rounded down."""
    if not 0 <= percent <= 100:
        raise MoneyError(f"{percent}%")
    return amount * percent // 100
