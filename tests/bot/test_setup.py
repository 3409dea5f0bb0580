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


def missing(market: Market, channel: simcord.ChannelHandle, *names: str, language: str = "en") -> str:
    """The refusal that names ``channel`` and its missing permissions, as the user reads it."""
    permissions = ", ".join(t(language, f"setup.permission.{name}") for name in names)
    line = t(language, "setup.missing_in", channel=channel.mention, permissions=permissions)
    return t(language, "error.setup.missing_permissions", missing=line)


async def deny_bot(market: Market, channel: simcord.ChannelHandle, *names: str) -> None:
    """A server admin took these permissions away from the bot in that channel."""
    real = market.bot.get_channel(channel.id)
    assert isinstance(real, discord.TextChannel | discord.ForumChannel)
    await real.set_permissions(real.guild.me, overwrite=discord.PermissionOverwrite(**dict.fromkeys(names, False)))
    await market.settle()


async def test_setup_refuses_a_channel_the_bot_cannot_see(market: Market) -> None:
    hidden = market.guild.create_text_channel(
        "secret",
        overwrites={
            market.guild.default_role: discord.PermissionOverwrite(view_channel=False),
            market.admin_role: discord.PermissionOverwrite(view_channel=True),
        },
    )
    result = await market.run_setup(mod_channel=hidden)

    market.assert_refused(
        result,
        "error.setup.missing_permissions",
        missing=t(
            "en",
            "setup.missing_in",
            channel=hidden.mention,
            permissions="View Channel, Send Messages, Embed Links, Read Message History",
        ),
    )
    assert await market.services.guilds.get(market.guild.id) is None


async def test_a_forum_jobs_channel_needs_manage_channels_and_manage_threads(market: Market) -> None:
    forum = market.guild.create_forum_channel("job-board")
    await deny_bot(market, forum, "manage_channels", "manage_threads")

    result = await market.run_setup(jobs_channel=forum)

    simcord.assert_responded(
        result, content=missing(market, forum, "manage_threads", "manage_channels"), ephemeral=True
    )
    assert market.env.errors
    assert await market.services.guilds.get(market.guild.id) is None


async def test_the_contracts_channel_needs_private_threads_and_pins(market: Market) -> None:
    await deny_bot(market, market.contracts, "create_private_threads", "send_messages_in_threads", "pin_messages")
    market.set_locale(market.admin, "ja")

    result = await market.run_setup()

    names = ("create_private_threads", "send_messages_in_threads", "pin_messages")
    simcord.assert_responded(result, content=missing(market, market.contracts, *names, language="ja"), ephemeral=True)
    assert result.response is not None and "プライベートスレッドの作成" in result.response.content
    assert market.env.errors
    assert await market.services.guilds.get(market.guild.id) is None


async def test_a_text_jobs_channel_without_contracts_channel_needs_the_thread_permissions(market: Market) -> None:
    await deny_bot(market, market.jobs, "pin_messages")

    result = await market.run_setup(contracts_channel=None)

    simcord.assert_responded(result, content=missing(market, market.jobs, "pin_messages"), ephemeral=True)
    assert market.env.errors
    # with a contracts channel the threads go there: the jobs channel needs no pins
    result = await market.run_setup()
    assert (await market.services.guilds.require(market.guild.id)).jobs_channel_id == market.jobs.id


async def test_every_missing_channel_is_named_once(market: Market) -> None:
    await deny_bot(market, market.jobs, "embed_links")
    await deny_bot(market, market.contracts, "attach_files")

    result = await market.run_setup(mod_channel=market.jobs)

    lines = [
        t("en", "setup.missing_in", channel=market.jobs.mention, permissions="Embed Links"),
        t("en", "setup.missing_in", channel=market.contracts.mention, permissions="Attach Files"),
    ]
    market.assert_refused(result, "error.setup.missing_permissions", missing="\n".join(lines))


async def test_a_refused_setup_again_keeps_the_old_one(setup_market: Market) -> None:
    market = setup_market
    before = await market.services.guilds.require(market.guild.id)
    await deny_bot(market, market.general, "send_messages")

    result = await market.run_setup(jobs_channel=market.general)

    market.assert_refused(
        result,
        "error.setup.missing_permissions",
        # Discord drops Embed Links where the bot cannot send at all
        missing=t("en", "setup.missing_in", channel=market.general.mention, permissions="Send Messages, Embed Links"),
    )
    assert await market.services.guilds.require(market.guild.id) == before


@pytest.mark.parametrize("language", ["en", "ja"])
async def test_a_forum_jobs_channel_needs_a_contracts_channel(market: Market, language: str) -> None:
    """Contract threads are private and a forum cannot hold private threads: without a text
    contracts channel there would be no contract threads at all."""
    forum = market.guild.create_forum_channel("job-board")
    market.set_locale(market.admin, language)

    result = await market.run_setup(jobs_channel=forum, contracts_channel=None)

    market.assert_refused(result, "error.setup.forum_needs_contracts_channel", language, jobs_channel=forum.mention)
    assert await market.services.guilds.get(market.guild.id) is None

    result = await market.run_setup(jobs_channel=forum)
    guild = await market.services.guilds.require(market.guild.id)
    assert (guild.jobs_channel_id, guild.contracts_channel_id) == (forum.id, market.contracts.id)


async def test_contract_threads_need_a_text_channel(market: Market) -> None:
    forum = market.guild.create_forum_channel("threads")
    with pytest.raises(simcord.OptionError):
        await market.run_setup(contracts_channel=forum)

    news = market.guild.create_news_channel("announcements")
    result = await market.run_setup(contracts_channel=news)
    market.assert_refused(result, "error.setup.no_private_threads", channel=news.mention)

    result = await market.run_setup(jobs_channel=news, contracts_channel=None)
    market.assert_refused(result, "error.setup.no_private_threads", channel=news.mention)
    assert await market.services.guilds.get(market.guild.id) is None
