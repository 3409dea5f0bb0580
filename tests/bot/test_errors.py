"""The central error renderer: commands (the tree's on_error) and persistent buttons."""

from __future__ import annotations

import logging
import re

import discord
import pytest
import simcord
from discord import app_commands

from bot.app import MarketBot, create_bot
from bot.checks import is_moderator
from bot.clock import FakeClock
from bot.config import Settings
from bot.errors import InvalidInput, NotFound
from bot.i18n import t
from bot.ui.buttons import MarketButton, build_view, register_button
from bot.ui.modals import MarketModal
from tests.bot.conftest import Market


class Boom(RuntimeError):
    pass


@register_button("errortest", "refuse")
class RefuseButton(MarketButton):
    label_key = "setup.not_set"

    async def run(self, interaction: discord.Interaction[MarketBot]) -> None:
        raise NotFound("error.not_found")


@register_button("errortest", "crash")
class CrashButton(MarketButton):
    label_key = "setup.not_set"

    async def run(self, interaction: discord.Interaction[MarketBot]) -> None:
        raise Boom("button exploded")


@register_button("errortest", "echo")
class EchoButton(MarketButton):
    label_key = "setup.not_set"

    async def run(self, interaction: discord.Interaction[MarketBot]) -> None:
        await interaction.response.send_message(f"echo {self.target_id}", ephemeral=True)


test_group = app_commands.Group(name="errortest", description="test-only commands")


@test_group.command(name="refuse", description="raises a MarketError")
async def refuse(interaction: discord.Interaction[MarketBot], value: int) -> None:
    raise InvalidInput("error.setup.fee_percent", value=value)


@test_group.command(name="crash", description="raises something unexpected")
async def crash(interaction: discord.Interaction[MarketBot]) -> None:
    raise Boom("boom")


@test_group.command(name="late", description="defers, then fails")
async def late(interaction: discord.Interaction[MarketBot]) -> None:
    await interaction.response.defer(ephemeral=True)
    raise NotFound()


@test_group.command(name="modonly", description="a moderator check, usable in DMs")
@is_moderator()
async def modonly(interaction: discord.Interaction[MarketBot]) -> None:
    await interaction.response.send_message("ok")


@test_group.command(name="buttons", description="posts the test buttons")
async def buttons(interaction: discord.Interaction[MarketBot]) -> None:
    view = build_view(["errortest:1:refuse", "errortest:2:crash", "errortest:3:echo", "nope:1:x"], "en")
    assert view is not None
    await interaction.response.send_message("buttons", view=view)


class ReasonModal(MarketModal, title="Reason"):
    reason: discord.ui.TextInput[ReasonModal] = discord.ui.TextInput(label="Reason", custom_id="reason")

    async def on_submit(self, interaction: discord.Interaction[MarketBot]) -> None:
        raise InvalidInput()


@test_group.command(name="modal", description="shows a modal that refuses")
async def modal(interaction: discord.Interaction[MarketBot]) -> None:
    await interaction.response.send_modal(ReasonModal())


@pytest.fixture
def simcord_bot(bot_settings: Settings, clock: FakeClock, built_bots: list[MarketBot]) -> MarketBot:
    bot = create_bot(bot_settings, clock=clock)
    bot.tree.add_command(test_group)
    built_bots.append(bot)
    return bot


async def test_market_error_is_localized_and_ephemeral(market: Market) -> None:
    result = await market.client.slash(market.general, "errortest refuse", value=5)
    market.assert_refused(result, "error.setup.fee_percent", value=5)

    market.set_locale(market.client, "ja")
    result = await market.client.slash(market.general, "errortest refuse", value=7)
    market.assert_refused(result, "error.setup.fee_percent", language="ja", value=7)


async def test_unexpected_error_gives_a_code_and_logs_it(market: Market, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="bot.tree"):
        result = await market.client.slash(market.general, "errortest crash")

    assert result.ephemeral and result.response is not None
    match = re.search(r"[0-9a-f]{8}", result.response.content)
    assert match is not None
    assert result.response.content == t("en", "error.unexpected", code=match.group())
    simcord.assert_error(market.env, Boom)
    records = [r for r in caplog.records if match.group() in r.getMessage()]
    assert records and records[0].exc_info is not None


async def test_error_after_defer_goes_to_the_followup(market: Market) -> None:
    result = await market.client.slash(market.general, "errortest late")
    market.assert_refused(result, "error.not_found")


async def test_a_server_check_in_a_dm_says_guild_only(market: Market) -> None:
    result = await market.client.user.slash("errortest modonly")
    simcord.assert_responded(result, content=t("en", "error.guild_only"), ephemeral=True)
    simcord.assert_error(market.env, app_commands.NoPrivateMessage)


async def test_button_errors_use_the_same_renderer(market: Market) -> None:
    await market.client.slash(market.general, "errortest buttons")
    message = market.general.last_message
    assert message is not None
    ids = [child.custom_id for row in message.components for child in row.children]  # type: ignore[attr-defined]
    assert ids == ["cw:errortest:1:refuse", "cw:errortest:2:crash", "cw:errortest:3:echo"]

    market.set_locale(market.worker, "ja")
    refused = await market.worker.click(message, custom_id="cw:errortest:1:refuse")
    simcord.assert_responded(refused, content=t("ja", "error.not_found"), ephemeral=True)

    crashed = await market.worker.click(message, custom_id="cw:errortest:2:crash")
    assert crashed.ephemeral and crashed.response is not None
    code = re.search(r"[0-9a-f]{8}", crashed.response.content)
    assert code is not None and crashed.response.content == t("ja", "error.unexpected", code=code.group())
    simcord.assert_error(market.env, Boom)

    echoed = await market.worker.click(message, custom_id="cw:errortest:3:echo")
    simcord.assert_responded(echoed, content="echo 3", ephemeral=True)
    assert await market.services.guilds.user_locale(market.worker.id) == "ja"


async def test_buttons_work_after_a_restart(market: Market) -> None:
    await market.client.slash(market.general, "errortest buttons")
    message = market.general.last_message
    assert message is not None

    await market.restart()

    echoed = await market.outsider.click(message, custom_id="cw:errortest:3:echo")
    simcord.assert_responded(echoed, content="echo 3", ephemeral=True)


async def test_modal_errors_use_the_same_renderer(market: Market) -> None:
    market.set_locale(market.worker, "ja")
    shown = await market.worker.slash(market.general, "errortest modal")
    assert shown.modal is not None

    result = await market.worker.submit_modal(shown, {"reason": "abc"})

    simcord.assert_responded(result, content=t("ja", "error.invalid_input"), ephemeral=True)
    simcord.assert_error(market.env, InvalidInput)
