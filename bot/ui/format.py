"""Formatting of money and times for messages.

Amounts are integer minor units (bot/models/money.py); times are aware UTC datetimes
shown as Discord timestamps, which every client renders in the reader's own time zone
and language.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from babel.numbers import format_currency

from bot.i18n import babel_locale, has, t
from bot.models.money import MoneyError, currency, to_major
from bot.models.timeutil import from_iso

VOCABULARY = frozenset({"status", "action", "field"})
USER_ARGS = frozenset({"client_id", "worker_id", "by_id", "subject_id", "reporter_id", "user_id"})


JA_YEN = "#,##0円"


def format_money(minor: int, code: str, language: object | None = "en") -> str:
    """The amount as the reader writes money (Babel's CLDR data for their Discord locale):
    ``¥12,000`` / ``$12.50`` in English, ``12,50 €`` in German, ``12,000円`` for yen in
    Japanese (CLDR's ``￥12,000`` is also right, but 円 is how Japanese prose writes yen).

    ``language`` may be a catalogue language, a Discord locale or ``discord.Locale``.
    """
    cur = currency(code)
    locale = babel_locale(language)
    amount = to_major(minor, cur.code)
    if locale.language == "ja" and cur.code == "JPY":
        return format_currency(amount, cur.code, format=JA_YEN, locale=locale)
    return format_currency(amount, cur.code, locale=locale)


def format_time(when: datetime, style: str = "f") -> str:
    """A Discord timestamp (``<t:1767603600:f>``): date and time in the reader's zone."""
    if when.tzinfo is None:
        raise ValueError("naive datetime")
    return f"<t:{int(when.timestamp())}:{style}>"


def format_relative(when: datetime) -> str:
    """``in 2 days`` / ``2日後``, rendered by the client."""
    return format_time(when, "R")


def format_args(args: Mapping[str, Any], language: object | None) -> dict[str, Any]:
    """Prepare outbox/message arguments for ``t()``.

    - ``*_amount``: integer minor units, formatted with the ``currency`` argument;
    - ``*_at``: ISO-8601 UTC text (or a datetime), formatted as a Discord timestamp;
    - ``status``, ``action``, ``field``: words translated from the ``status.*``, ``action.*``
      and ``field.*`` vocabularies;
    - user ids (``client_id``, ``worker_id``, ...): mentions;
    - anything else unchanged.
    A value that cannot be formatted is left as it is (the message still goes out).
    """
    code = str(args.get("currency") or "")
    out: dict[str, Any] = dict(args)
    for name, value in args.items():
        if value is None:
            continue
        if name in VOCABULARY and isinstance(value, str) and has(f"{name}.{value}"):
            out[name] = t(language, f"{name}.{value}")
            continue
        if name == "deadline" and isinstance(value, str) and value.endswith("d") and value[:-1].isdigit():
            out[name] = t(language, "deadline.days", days=int(value[:-1]))
            continue
        if name in USER_ARGS and isinstance(value, int):
            out[name] = f"<@{value}>"
            continue
        if name.endswith("_amount") and isinstance(value, int) and code:
            try:
                out[name] = format_money(value, code, language)
            except MoneyError:
                out[name] = str(value)
        elif name.endswith("_at"):
            try:
                moment = value if isinstance(value, datetime) else from_iso(str(value))
                out[name] = format_time(moment)
            except ValueError:
                out[name] = str(value)
    return out
