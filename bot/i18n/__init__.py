"""Message catalogues (Japanese and English) and locale selection.

Catalogues live in ``locales/<lang>/<domain>.toml``; keys are dotted
(``[error] not_found = "..."`` is ``error.not_found``). Placeholders use
``str.format`` syntax: ``{job_id}``. Every key exists in every language with the same
placeholders (a test checks it).
"""

from __future__ import annotations

import logging
import string
import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
LANGUAGES = ("en", "ja")
DEFAULT_LANGUAGE = "en"


def language_of(locale: object | None) -> str:
    """Map a Discord locale (``ja``, ``en-US``, a ``discord.Locale``) to a catalogue language."""
    text = str(getattr(locale, "value", locale) or "").lower()
    return "ja" if text.startswith("ja") else DEFAULT_LANGUAGE


def _flatten(prefix: str, table: Mapping[str, Any], out: dict[str, str]) -> None:
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
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
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def has(key: str) -> bool:
    return key in catalogue(DEFAULT_LANGUAGE)


def t(locale: object | None, key: str, /, **args: Any) -> str:
    """The message ``key`` in the locale's language, formatted with ``args``."""
    language = language_of(locale)
    template = catalogue(language).get(key) or catalogue(DEFAULT_LANGUAGE).get(key)
    if template is None:
        log.error("missing message key %s", key)
        return key
    try:
        return template.format(**args)
    except (KeyError, IndexError, ValueError):
        log.exception("message %s could not be formatted with %s", key, sorted(args))
        return template
