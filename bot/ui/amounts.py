"""Amounts typed as text (modal fields, string options), read in the reader's number format.

Discord already parses number options; text is ours to read. ``12,50`` is twelve and a
half in German or French and a typo in English, where ``1,250`` is a thousand two hundred
and fifty: the reader's Discord locale (Babel's CLDR data) decides, and whatever cannot be
read one way is refused with how it would be read, never guessed. The service then checks
the bounds; the answer shows the amount as it was read (``¥45,000``, ``12,50 €``).
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from babel import Locale
from babel.numbers import (
    NumberFormatError,
    format_decimal,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    parse_decimal,
)

from bot.errors import InvalidInput
from bot.i18n import babel_locale
from bot.models.money import CURRENCIES, currency
from bot.ui.format import format_money

EXAMPLE = Decimal("1234.5")
_SPACES = frozenset({" ", "\u00a0", "\u202f"})


def _strip_currency(text: str, code: str, locale: Locale) -> str:
    """Remove the currency's code and signs (``¥``, ``円``, ``US$``, ``EUR``) around the number."""
    signs = {code, get_currency_symbol(code, locale=locale), "円"} | {c.symbol for c in CURRENCIES.values()}
    for sign in sorted(signs, key=len, reverse=True):
        text = text.replace(sign, "").replace(sign.lower(), "")
    return text.strip()


def parse_amount(text: str, code: str, locale: object | None, *, not_a_number: str) -> Decimal:
    """``text`` as an amount in major units of ``code``, read in ``locale``'s number format.

    ``not_a_number`` is the message key (with a ``value`` argument) for text that is no
    number at all; grouping that does not fit the locale and more decimals than the
    currency has get messages showing how the text would be read.
    """
    typed = (text or "").strip()
    where = babel_locale(locale)
    # full-width digits and signs (１２，０００円) as a Japanese keyboard types them
    cleaned = _strip_currency(unicodedata.normalize("NFKC", typed), code.upper(), where)
    group = get_group_symbol(where)
    if group in _SPACES:
        # a French "1 250" typed with an ordinary space means the locale's narrow one
        cleaned = "".join(group if char in _SPACES else char for char in cleaned)
    if not cleaned or any(char.isalpha() for char in cleaned):
        raise InvalidInput(not_a_number, value=typed)
    try:
        value = parse_decimal(cleaned, locale=where, strict=True)
    except NumberFormatError as error:
        if not error.suggestions:
            raise InvalidInput(not_a_number, value=typed) from None
        raise InvalidInput(
            "amount.malformed",
            value=typed,
            locale=str(where),
            example=format_decimal(EXAMPLE, format="#,##0.00", locale=where),
            decimal=get_decimal_symbol(where),
            group=group,
            suggestions=" / ".join(f"`{suggestion}`" for suggestion in error.suggestions),
        ) from None
    exponent = value.normalize().as_tuple().exponent
    if not isinstance(exponent, int) or -exponent > currency(code).decimals:
        raise InvalidInput(
            "amount.too_precise",
            value=typed,
            read=format_decimal(value, locale=where, decimal_quantization=False),
            locale=str(where),
            currency=code.upper(),
            smallest=format_money(1, code, where),
        )
    return value
