"""/setup: who may run it, what it stores, what it answers."""

from __future__ import annotations

import discord
import pytest
import simcord

from bot.i18n import t
from tests.bot.conftest import Market


def expected_summary(market: Market, language: str, *, contracts: str, currency: str, fee: int) -> str:
    return t(
        language,
        "setup.done",
        jobs_channel=market.jobs.mention,
        mod_channel=market.mod.mention,
        moderator_role=market.moderator_role.mention,
        contracts_channel=contracts,
        currency=currency,
        fee_percent=fee,
        setup=market.bot.command_mention("setup"),
        config_show=market.bot.command_mention("config show"),
    )


async def test_setup_stores_the_guild_and_answers_privately(market: Market) -> None:
    result = await market.run_setup(currency="USD", fee_percent=7)

    simcord.assert_responded(
        result,
        content=expected_summary(market, "en", contracts=market.contracts.mention, currency="USD", fee=7),
        ephemeral=True,
    )
    guild = await market.services.guilds.require(market.guild.id)
    assert (guild.jobs_channel_id, guild.mod_channel_id, guild.moderator_role_id, guild.contracts_channel_id) == (
        market.jobs.id,
        market.mod.id,
        market.moderator_role.id,
        market.contracts.id,
    )
    assert guild.currency == "USD"
    assert guild.locale == "en-US"
    assert (await market.services.guilds.policies(market.guild.id)).integer("fee_percent") == 7


async def test_setup_defaults_and_japanese(market: Market) -> None:
    market.guild_locale = "ja"
    market.set_locale(market.admin, "ja")

    result = await market.run_setup(contracts_channel=None)

    simcord.assert_responded(
        result,
        content=expected_summary(market, "ja", contracts=t("ja", "setup.not_set"), currency="JPY", fee=10),
        ephemeral=True,
    )
    guild = await market.services.guilds.require(market.guild.id)
    assert guild.locale == "ja"
    assert guild.contracts_channel_id is None


async def test_setup_again_changes_it(setup_market: Market) -> None:
    market = setup_market
    await market.run_setup(jobs_channel=market.general, fee_percent=0)

    guild = await market.services.guilds.require(market.guild.id)
    assert guild.jobs_channel_id == market.general.id
    assert (await market.services.guilds.policies(market.guild.id)).integer("fee_percent") == 0


async def test_setup_is_hidden_from_members_without_manage_server(market: Market) -> None:
    with pytest.raises(simcord.SetupError, match="not visible"):
        await market.run_setup_as(market.client)
    assert await market.services.guilds.get(market.guild.id) is None


async def test_setup_refuses_a_member_without_manage_server_even_when_shown(market: Market) -> None:
    # An admin can override default_permissions per command; the real check still refuses.
    market.guild.set_command_permissions(market.bot.command_ids["setup"], {market.moderator: True})

    result = await market.run_setup_as(market.moderator)

    market.assert_refused(result, "error.check_failed")
    assert await market.services.guilds.get(market.guild.id) is None


async def test_setup_fee_out_of_range_cannot_be_sent(market: Market) -> None:
    with pytest.raises(simcord.OptionError):
        await market.run_setup(fee_percent=101)
    with pytest.raises(simcord.OptionError):
        await market.run_setup(fee_percent=-1)
    with pytest.raises(simcord.OptionError):
        await market.run_setup(currency="XYZ")
    assert await market.services.guilds.get(market.guild.id) is None


async def test_setup_needs_a_text_or_forum_channel(market: Market) -> None:
    forum = market.guild.create_forum_channel("job-board")
    result = await market.run_setup(jobs_channel=forum)
    assert result.ephemeral
    assert (await market.services.guilds.require(market.guild.id)).jobs_channel_id == forum.id

    voice = market.guild.create_voice_channel("lounge")
    with pytest.raises(simcord.OptionError):
        await market.run_setup(jobs_channel=voice)


async def test_setup_warns_about_channels_the_bot_cannot_use(market: Market) -> None:
    hidden = market.guild.create_text_channel(
        "secret",
        overwrites={
            market.guild.default_role: discord.PermissionOverwrite(view_channel=False),
            market.admin_role: discord.PermissionOverwrite(view_channel=True),
        },
    )
    result = await market.run_setup(mod_channel=hidden)

    assert result.response is not None
    assert result.response.content.endswith(
        t(
            "en",
            "setup.missing_permissions",
            channel=hidden.mention,
            permissions="view_channel, send_messages, embed_links, read_message_history",
        )
    )
