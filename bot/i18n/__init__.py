"""Message catalogues (Japanese and English) and locale selection.

Catalogues live in ``locales/<lang>/<domain>.toml``; keys are dotted
(``[error] not_found = "..."`` is ``error.not_found``). Placeholders use
``str.format`` syntax: ``{job_id}``. Every key exists in every language with the same
placeholders (a test checks it).

A message with a count is a table of CLDR plural categories that names its count
argument: ``days = { _count = "days", one = "{days} day", other = "{days} days" }``. The
category is chosen by Babel's CLDR rules for the catalogue's language (English has
``one``/``other``, Japanese only ``other``), so "1 days" cannot happen.
"""

from __future__ import annotations

import logging
import string
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
LANGUAGES = ("en", "ja")
DEFAULT_LANGUAGE = "en"


def language_of(locale: object | None) -> str:
    """Map a Discord locale (``ja``, ``en-US``, a ``discord.Locale``) to a catalogue language."""
    text = str(getattr(locale, "value", locale) or "").lower()
    return "ja" if text.startswith("ja") else DEFAULT_LANGUAGE


@cache
def _babel_locale(text: str) -> Locale:
    try:
        return Locale.parse(text.replace("-", "_")) if text else Locale.parse(DEFAULT_LANGUAGE)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LANGUAGE)


def babel_locale(locale: object | None) -> Locale:
    """The Babel locale for a Discord locale (``de``, ``en-GB``, ``es-419``, a
    ``discord.Locale``) or a catalogue language: how the reader writes numbers and money.
    Unknown or missing locales read as English."""
    return _babel_locale(str(getattr(locale, "value", locale) or ""))


PLURAL_CATEGORIES = frozenset({"zero", "one", "two", "few", "many", "other"})


class Plural(str):
    """A message with plural forms. As a string it is its ``other`` form (so code that
    only needs some text, such as a length check, keeps working); ``t()`` picks the form."""

    count_arg: str
    forms: dict[str, str]

    def __new__(cls, name: str, table: Mapping[str, Any]) -> Plural:
        count = table.get("_count")
        forms = {key: value for key, value in table.items() if key != "_count"}
        if not isinstance(count, str) or not count:
            raise ValueError(f"plural message {name} has no _count argument name")
        if "other" not in forms or not set(forms) <= PLURAL_CATEGORIES:
            raise ValueError(f"plural message {name} needs an 'other' form and only CLDR categories")
        if not all(isinstance(value, str) for value in forms.values()):
            raise ValueError(f"plural message {name} has a form that is not text")
        plural = super().__new__(cls, forms["other"])
        plural.count_arg = count
        plural.forms = forms
        return plural

    def form(self, language: str, value: object) -> str:
        number = _number(value)
        category = "other" if number is None else babel_locale(language).plural_form(number)
        return self.forms.get(category, self.forms["other"])


def _number(value: object) -> int | float | Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return value
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return None
    return number if number.is_finite() else None


def _flatten(prefix: str, table: Mapping[str, Any], out: dict[str, str]) -> None:
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping) and "_count" in value:
            if name in out:
                raise ValueError(f"duplicate message key {name}")
            out[name] = Plural(name, value)
        elif isinstance(value, Mapping):
            _flatten(name, value, out)
        elif isinstance(value, str):
            if name in out:
                raise ValueError(f"duplicate message key {name}")
            out[name] = value
        else:
            raise ValueError(f"message {name} is not text")


@cache
def catalogue(language: str) -> dict[str, str]:
    messages: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / language).glob("*.toml")):
        with path.open("rb") as fh:
            _flatten("", tomllib.load(fh), messages)
    return messages


def placeholders(template: str) -> set[str]:
    """The arguments a message takes; for a plural message, those of every form and its count."""
    if isinstance(template, Plural):
        return {template.count_arg}.union(*(placeholders(form) for form in template.forms.values()))
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def has(key: str) -> bool:
    return key in catalogue(DEFAULT_LANGUAGE)


def t(locale: object | None, key: str, /, **args: Any) -> str:
    """The message ``key`` in the locale's language, formatted with ``args``; for a plural
    message, in the form its count argument asks for."""
    language = language_of(locale)
    template = catalogue(language).get(key)
    if template is None:
        language = DEFAULT_LANGUAGE
        template = catalogue(language).get(key)
    if template is None:
        log.error("missing message key %s", key)
        return key
    if isinstance(template, Plural):
        template = template.form(language, args.get(template.count_arg))
    try:
        return template.format(**args)
    except (KeyError, IndexError, ValueError):
        log.exception("message %s could not be formatted with %s", key, sorted(args))
        return template
