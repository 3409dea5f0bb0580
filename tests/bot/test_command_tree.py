"""Every command in the tree, whatever cog adds it: both languages, valid names, scopes.

Written over ``bot.tree.walk_commands()`` so that later cogs are covered automatically.
"""

from __future__ import annotations

from typing import Any

import discord
import pytest
from discord import app_commands

from bot.app import MarketBot
from bot.i18n import catalogue
from bot.i18n.translator import command_key, is_valid_command_name
from tests.bot.conftest import Market

# Root commands that also work outside a server (everything else must be guild_only).
DM_ALLOWED = {"help"}

Node = app_commands.Command[Any, ..., Any] | app_commands.Group


def walk(bot: MarketBot) -> list[Node]:
    return list(bot.tree.walk_commands())


def test_name_rule() -> None:
    assert is_valid_command_name("初期設定")
    assert is_valid_command_name("job-list_2")
    assert not is_valid_command_name("Setup")
    assert not is_valid_command_name("two words")
    assert not is_valid_command_name("求人・投稿")
    assert not is_valid_command_name("x" * 33)
    assert not is_valid_command_name("")


async def test_every_command_has_english_and_japanese_text(market: Market) -> None:
    en, ja = catalogue("en"), catalogue("ja")
    nodes = walk(market.bot)
    assert {node.qualified_name for node in nodes} >= {"setup", "config", "config show", "config set", "help"}
    for node in nodes:
        key = command_key(node.qualified_name)
        assert en.get(f"{key}.name") == node.name, key
        assert en.get(f"{key}.description") == node.description, key
        assert is_valid_command_name(ja.get(f"{key}.name", "")), f"{key}.name in ja: {ja.get(f'{key}.name')!r}"
        assert 1 <= len(ja.get(f"{key}.description", "")) <= 100, f"{key}.description in ja"
        if isinstance(node, app_commands.Group):
            continue
        ja_names = set()
        for param in node.parameters:
            option = f"{key}.options.{param.name}"
            assert en.get(f"{option}.name") == param.display_name, option
            assert en.get(f"{option}.description") == param.description, option
            ja_name = ja.get(f"{option}.name", "")
            assert is_valid_command_name(ja_name), f"{option}.name in ja: {ja_name!r}"
            assert ja_name not in ja_names, f"duplicate Japanese option name {ja_name} in {key}"
            ja_names.add(ja_name)
            assert 1 <= len(ja.get(f"{option}.description", "")) <= 100, f"{option}.description in ja"
            for choice in param.choices:
                assert en.get(f"choice.{choice.value}") == choice.name, f"choice {choice.value}"
                assert ja.get(f"choice.{choice.value}"), f"choice {choice.value} in ja"


async def test_the_synced_payload_carries_the_japanese_localizations(market: Market) -> None:
    payload = await market.bot.command_payload()

    def check(entry: dict[str, Any], path: str) -> None:
        assert entry.get("name_localizations", {}).get("ja"), f"{path}: no ja name"
        if entry.get("type", 1) in (1, 2) or "description" in entry:
            assert entry.get("description_localizations", {}).get("ja"), f"{path}: no ja description"
        for option in entry.get("options", []):
            check(option, f"{path} {option['name']}")
            for choice in option.get("choices", []):
                assert choice.get("name_localizations", {}).get("ja"), f"{path} choice {choice['value']}"

    for command in payload:
        check(command, command["name"])


async def test_commands_needing_a_server_are_guild_only(market: Market) -> None:
    for command in market.bot.tree.get_commands(type=discord.AppCommandType.chat_input):
        assert command.guild_only or command.name in DM_ALLOWED, f"/{command.name} must be guild_only"


async def test_custom_names_fit_discord_limits(market: Market) -> None:
    for node in walk(market.bot):
        assert is_valid_command_name(node.name), node.qualified_name
        assert 1 <= len(node.description) <= 100, node.qualified_name


@pytest.mark.parametrize("language", ["en", "ja"])
def test_command_catalogues_have_the_same_keys(language: str) -> None:
    other = "ja" if language == "en" else "en"
    mine = {k for k in catalogue(language) if k.startswith(("cmd.", "choice."))}
    theirs = {k for k in catalogue(other) if k.startswith(("cmd.", "choice."))}
    assert mine == theirs
