"""``/setup``: configure the marketplace in this server (Manage Server)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import is_manager
from bot.errors import InvalidInput
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

PROVIDER_CHOICES = [
    app_commands.Choice(name="Manual (moderators confirm deposits and record payouts)", value="manual"),
    app_commands.Choice(name="Stripe Connect (payments and payouts by Stripe)", value="stripe"),
]

# What the bot needs in each configured channel, call by call (the invite asks for the same
# set, bot/__main__.py; README "Setting up in Discord").
_POSTS = ("view_channel", "send_messages", "embed_links")  # job embeds, case cards, notes
_MOD = (*_POSTS, "read_message_history")  # and re-reading a card to grey out its buttons
# a forum post is a message; a filled job's post is locked and archived (and reopened), and a
# missing category tag is added to the forum
_FORUM = (*_POSTS, "manage_threads", "manage_channels")
# one private, non-invitable thread per contract with both parties added, the terms card
# pinned, delivered files attached, sent messages re-read to grey out their buttons
_THREADS = (
    "view_channel",
    "embed_links",
    "attach_files",
    "read_message_history",
    "create_private_threads",
    "send_messages_in_threads",
    "manage_threads",
    "pin_messages",
)

AnyChannel = discord.TextChannel | discord.ForumChannel


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
        payment_provider="How escrow money moves: by hand (manual) or with Stripe Connect",
    )
    @app_commands.choices(currency=CURRENCY_CHOICES, payment_provider=PROVIDER_CHOICES)
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
        payment_provider: app_commands.Choice[str] | None = None,
    ) -> None:
        assert interaction.guild is not None
        require_usable(interaction.guild, interaction.locale, jobs_channel, mod_channel, contracts_channel)
        services = self.bot.services
        if payment_provider is not None:  # refused before anything is stored
            await services.payments.check_provider(interaction.guild.id, payment_provider.value)
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
        if payment_provider is not None:
            await services.payments.set_provider(guild.guild_id, payment_provider.value, actor_id=interaction.user.id)
        fee = (await services.guilds.policies(guild.guild_id)).integer("fee_percent")
        commands_ = {"setup": self.bot.command_mention("setup"), "config_show": self.bot.command_mention("config show")}
        text = summary(interaction.locale, guild, fee, commands_)
        if payment_provider is not None:
            text += "\n" + t(interaction.locale, f"stripe.setup.provider_{payment_provider.value}")
        await interaction.response.send_message(text, ephemeral=True)


def require_usable(
    guild: discord.Guild,
    locale: object,
    jobs_channel: AnyChannel,
    mod_channel: discord.TextChannel,
    contracts_channel: discord.TextChannel | None,
) -> None:
    """Refuse channels that cannot hold what the bot puts there, or where it lacks a permission
    it will use (each such channel named with its missing permissions, in the user's language)."""
    missing = missing_permissions(guild, channel_needs(jobs_channel, mod_channel, contracts_channel))
    if missing:
        lines = [missing_line(locale, channel, names) for channel, names in missing]
        raise InvalidInput("error.setup.missing_permissions", missing="\n".join(lines))


def channel_needs(
    jobs_channel: AnyChannel, mod_channel: discord.TextChannel, contracts_channel: discord.TextChannel | None
) -> list[tuple[AnyChannel, tuple[str, ...]]]:
    """The permissions the bot needs in each channel given to /setup, once per channel.

    Contract threads are private: they go in ``contracts_channel``, else in the jobs channel,
    which must then be a text channel (a forum or an announcement channel cannot hold
    private threads). Anything else is refused here, before anything is stored."""
    jobs_needs: tuple[str, ...]
    if isinstance(jobs_channel, discord.ForumChannel):
        if contracts_channel is None:
            raise InvalidInput("error.setup.forum_needs_contracts_channel", jobs_channel=jobs_channel.mention)
        jobs_needs = _FORUM
    else:
        jobs_needs = _POSTS if contracts_channel is not None else (*_POSTS, *_THREADS)
    threads = contracts_channel or jobs_channel
    if isinstance(threads, discord.TextChannel) and threads.is_news():
        raise InvalidInput("error.setup.no_private_threads", channel=threads.mention)
    wanted: dict[int, tuple[AnyChannel, dict[str, None]]] = {}
    pairs: list[tuple[AnyChannel, tuple[str, ...]]] = [(jobs_channel, jobs_needs), (mod_channel, _MOD)]
    if contracts_channel is not None:
        pairs.append((contracts_channel, _THREADS))
    for channel, names in pairs:  # a channel given twice needs both sets
        wanted.setdefault(channel.id, (channel, {}))[1].update(dict.fromkeys(names))
    return [(channel, tuple(names)) for channel, names in wanted.values()]


def missing_permissions(
    guild: discord.Guild, needs: list[tuple[AnyChannel, tuple[str, ...]]]
) -> list[tuple[str, list[str]]]:
    """(channel mention, missing permission names) for each channel the bot cannot fully use."""
    found = []
    for channel, wanted in needs:
        allowed = channel.permissions_for(guild.me)
        missing = [name for name in wanted if not getattr(allowed, name)]
        if missing:
            found.append((channel.mention, missing))
    return found


def missing_line(locale: object, channel: str, names: list[str]) -> str:
    """``- #channel: Manage Channels, Pin Messages`` with the names as Discord shows them."""
    permissions = ", ".join(t(locale, f"setup.permission.{name}") for name in names)
    return t(locale, "setup.missing_in", channel=channel, permissions=permissions)


def summary(locale: object, guild: Guild, fee: int, mentions: dict[str, str]) -> str:
    contracts = f"<#{guild.contracts_channel_id}>" if guild.contracts_channel_id else t(locale, "setup.not_set")
    return t(
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


async def setup(bot: MarketBot) -> None:
    await bot.add_cog(SetupCog(bot))
