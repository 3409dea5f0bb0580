"""The catalogues: every key in every language with the same placeholders.

Iterates whatever catalogue files exist, so it keeps checking as features add messages.
"""

from __future__ import annotations

import tomllib

import discord
import pytest

from bot import i18n
from bot.errors import (
    CooldownActive,
    InvalidInput,
    LimitReached,
    MarketError,
    NotAllowed,
    NotConfigured,
    NotFound,
    WrongState,
)
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, LOCALES_DIR, catalogue, language_of, placeholders, t


def test_every_locale_directory_is_a_known_language() -> None:
    assert {path.name for path in LOCALES_DIR.iterdir() if path.is_dir()} == set(LANGUAGES)


def test_every_language_has_the_same_files() -> None:
    files = {lang: sorted(p.name for p in (LOCALES_DIR / lang).glob("*.toml")) for lang in LANGUAGES}
    assert files[DEFAULT_LANGUAGE], "no catalogue files"
    for lang in LANGUAGES:
        assert files[lang] == files[DEFAULT_LANGUAGE], lang


def test_every_file_parses() -> None:
    for path in LOCALES_DIR.glob("*/*.toml"):
        with path.open("rb") as fh:
            tomllib.load(fh)


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != DEFAULT_LANGUAGE])
def test_same_keys_in_every_language(language: str) -> None:
    reference, other = catalogue(DEFAULT_LANGUAGE), catalogue(language)
    assert sorted(set(reference) - set(other)) == [], f"missing in {language}"
    assert sorted(set(other) - set(reference)) == [], f"only in {language}"


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != DEFAULT_LANGUAGE])
def test_same_placeholders_in_every_language(language: str) -> None:
    reference, other = catalogue(DEFAULT_LANGUAGE), catalogue(language)
    mismatched = {
        key: (sorted(placeholders(reference[key])), sorted(placeholders(other[key])))
        for key in set(reference) & set(other)
        if placeholders(reference[key]) != placeholders(other[key])
    }
    assert mismatched == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_empty_messages(language: str) -> None:
    assert [key for key, text in catalogue(language).items() if not text.strip()] == []


@pytest.mark.parametrize(
    "error", [MarketError, NotFound, NotAllowed, WrongState, InvalidInput, CooldownActive, LimitReached,
              NotConfigured]
)  # fmt: skip
def test_every_error_default_key_is_translated(error: type[MarketError]) -> None:
    for language in LANGUAGES:
        assert error.default_key in catalogue(language)


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("ja", "ja"),
        ("en-US", "en"),
        ("en-GB", "en"),
        ("fr", "en"),
        (None, "en"),
        ("", "en"),
        (discord.Locale.japanese, "ja"),
        (discord.Locale.american_english, "en"),
    ],
)
def test_language_of(locale: object, language: str) -> None:
    assert language_of(locale) == language


def test_t_formats_in_the_users_language() -> None:
    english = t("en-US", "error.unexpected", code="E42")
    japanese = t("ja", "error.unexpected", code="E42")
    assert "E42" in english
    assert "E42" in japanese
    assert english != japanese
    assert "{" not in english


def test_placeholders() -> None:
    assert placeholders("Job {job_id} by {user}: {amount}") == {"job_id", "user", "amount"}
    assert placeholders("no fields") == set()


def test_unknown_key_is_returned_as_is() -> None:
    assert t("en", "no.such.key") == "no.such.key"
    assert not i18n.has("no.such.key")
    assert i18n.has("error.not_found")


def test_missing_argument_does_not_raise() -> None:
    assert t("en", "error.unexpected") == catalogue("en")["error.unexpected"]
