"""Japanese (and English) names and descriptions for the slash commands.

Design
------
Cogs write their commands in English, as discord.py intends: the names, descriptions,
parameter descriptions (``app_commands.describe``) and choice names in the code are
the source strings and Discord's defaults. discord.py wraps them in ``locale_str``
(``auto_locale_strings``) and asks this translator for every locale at sync time.

The catalogue ``locales/<lang>/commands.toml`` holds, per command, keyed by its
*qualified English name* (spaces become dots, so ``/config set`` is ``cmd.config.set``)::

    [cmd.config.set]
    name = "変更"                          # the command's (or group's) name
    description = "ポリシーを1つ変更します"
    [cmd.config.set.options.name]          # a parameter, by its English name
    name = "項目"
    description = "変更するポリシー"

    [choice]                               # choice names, by the choice *value*
    JPY = "日本円 (JPY)"

``en/commands.toml`` mirrors the same keys with the English source strings (every
catalogue key exists in both languages; a test checks that the English entries equal the
code, so translators have one file to work from and nothing drifts). Only the Japanese
locale is translated; English clients see the defaults. A subcommand must not be named
``name``, ``description`` or ``options`` (it would collide with the table keys).

Japanese names must satisfy Discord's rule for names: 1-32 characters, letters (any
script), digits, ``-``, ``_`` and ``'``, lower case where the script has case
(``is_valid_command_name`` below; tests walk the tree with it).
"""

from __future__ import annotations

import logging
import unicodedata
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Loc

from bot.i18n import catalogue

log = logging.getLogger(__name__)

TRANSLATED_LOCALES: dict[discord.Locale, str] = {discord.Locale.japanese: "ja"}


def is_valid_command_name(name: str) -> bool:
    """Discord's ``^[-_'\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$``, lower case."""
    if not 1 <= len(name) <= 32 or name != name.lower():
        return False
    for char in name:
        if char in "-_'":
            continue
        category = unicodedata.category(char)
        # Devanagari and Thai combining marks are allowed as well.
        if category[0] in "LN":
            continue
        if category[0] == "M" and unicodedata.name(char, "").startswith(("DEVANAGARI", "THAI")):
            continue
        return False
    return True


def command_key(qualified_name: str) -> str:
    return "cmd." + ".".join(qualified_name.split())


def context_key(context: app_commands.TranslationContextTypes) -> str | None:
    """The catalogue key for the string discord.py asks about, or None."""
    location = context.location
    data: Any = context.data
    if location in (Loc.command_name, Loc.group_name):
        return f"{command_key(data.qualified_name)}.name"
    if location in (Loc.command_description, Loc.group_description):
        return f"{command_key(data.qualified_name)}.description"
    if location in (Loc.parameter_name, Loc.parameter_description):
        field = "name" if location is Loc.parameter_name else "description"
        return f"{command_key(data.command.qualified_name)}.options.{data.name}.{field}"
    if location is Loc.choice_name:
        return f"choice.{data.value}"
    return None


class MarketTranslator(app_commands.Translator):
    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        language = TRANSLATED_LOCALES.get(locale)
        if language is None:
            return None
        key = context_key(context)
        if key is None:
            return None
        text = catalogue(language).get(key)
        if text is None:
            log.debug("no %s translation for %s (%r)", language, key, string.message)
        return text
