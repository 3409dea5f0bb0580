"""``/setup``: configure the marketplace in this server (Manage Server)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import is_manager
from bot.i18n import t
from bot.models.entities import Guild

if TYPE_CHECKING:
    from bot.app import MarketBot

Interaction = discord.Interaction["MarketBot"]

CURRENCY_CHOICES = [
    app_commands.Choice(name="Japanese yen (JPY)", value="JPY"),
    app_commands.Choice(name="US dollar (USD)", value="USD"),
    app_commands.Choice(name="Euro (EUR)", value="EUR"),
    app_commands.Choice(name="Pound sterling (GBP)", value="GBP"),
]

# What the bot needs in each configured channel (PRODUCT.md, Discord surface).
_BASE = ("view_channel", "send_messages", "embed_links", "read_message_history")
_THREADS = ("create_private_threads", "send_messages_in_threads", "manage_threads")


class SetupCog(commands.Cog):
    def __init__(self, bot: MarketBot) -> None:
        self.bot = bot

    @app_commands.command(name="setup", description="Set up the marketplace in this server")
    @app_commands.describe(
        jobs_channel="Where jobs are posted (a text or forum channel)",
        mod_channel="Where moderators get escalations and cases",
        moderator_role="Members with this role act as marketplace moderators",
        contracts_channel="Where private contract threads are opened",
        currency="The currency of budgets and prices",
        fee_percent="The platform fee taken from each payout, in percent",
    )
    @app_commands.choices(currency=CURRENCY_CHOICES)
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @is_manager()
    async def setup_guild(
        self,
        interaction: Interaction,
        jobs_channel: discord.TextChannel | discord.ForumChannel,
        mod_channel: discord.TextChannel,
        moderator_role: discord.Role,
        contracts_channel: discord.TextChannel | None = None,
        currency: app_commands.Choice[str] | None = None,
        fee_percent: app_commands.Range[int, 0, 100] | None = None,
    ) -> None:
        assert interaction.guild is not None
        services = self.bot.services
        guild = await services.guilds.setup(
            interaction.guild.id,
            actor_id=interaction.user.id,
            jobs_channel_id=jobs_channel.id,
            mod_channel_id=mod_channel.id,
            moderator_role_id=moderator_role.id,
            contracts_channel_id=contracts_channel.id if contracts_channel else None,
            currency=currency.value if currency else None,
            fee_percent=fee_percent,
            locale=str(interaction.guild_locale or discord.Locale.american_english),
        )
        fee = (await services.guilds.policies(guild.guild_id)).integer("fee_percent")
        needs = [(jobs_channel, _BASE + _THREADS), (mod_channel, _BASE)]
        if contracts_channel is not None:
            needs.append((contracts_channel, _BASE + _THREADS))
        commands_ = {"setup": self.bot.command_mention("setup"), "config_show": self.bot.command_mention("config show")}
        missing = missing_permissions(interaction.guild, needs)
        text = summary(interaction.locale, guild, fee, missing, commands_)
        await interaction.response.send_message(text, ephemeral=True)


def missing_permissions(
    guild: discord.Guild, needs: list[tuple[discord.TextChannel | discord.ForumChannel, tuple[str, ...]]]
) -> list[tuple[str, list[str]]]:
    """(channel mention, missing permission names) for each channel the bot cannot fully use."""
    found = []
    for channel, wanted in needs:
        allowed = channel.permissions_for(guild.me)
        missing = [name for name in wanted if not getattr(allowed, name)]
        if missing:
            found.append((channel.mention, missing))
    return found


def summary(
    locale: object, guild: Guild, fee: int, missing: list[tuple[str, list[str]]], mentions: dict[str, str]
) -> str:
    contracts = f"<#{guild.contracts_channel_id}>" if guild.contracts_channel_id else t(locale, "setup.not_set")
    lines = [
        t(
            locale,
            "setup.done",
            jobs_channel=f"<#{guild.jobs_channel_id}>",
            mod_channel=f"<#{guild.mod_channel_id}>",
            moderator_role=f"<@&{guild.moderator_role_id}>",
            contracts_channel=contracts,
            currency=guild.currency,
            fee_percent=fee,
            **mentions,
        )
    ]
    for channel, names in missing:
        lines.append(t(locale, "setup.missing_permissions", channel=channel, permissions=", ".join(names)))
    return "\n".join(lines)


async def setup(bot: MarketBot) -> None:
    await bot.add_cog(SetupCog(bot))
