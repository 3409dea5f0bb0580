"""Real permission checks (``default_permissions`` alone can be overridden by admins).

- ``@is_moderator()`` on a slash command: the member has the guild's moderator role
  (from /setup) or Manage Server. Fails with :class:`NotModerator` (a ``CheckFailure``);
  in a guild that is not set up, with the ``NotConfigured`` message.
- ``await require_moderator(interaction)`` in a button or modal callback: the same rule;
  raises ``NotModerator`` / ``NotConfigured``, which ``report_error`` renders.
- ``@is_manager()``: the member has Manage Server (for /setup).
- ``await require_member(interaction, guild_id)``: the user is still a member of the guild a
  button's target belongs to (a DM click carries no guild: a user who left or was removed
  must not accept an offer or approve a delivery from their DMs). Raises ``NotMember``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands

from bot.errors import MarketError
from bot.tree import MarketCheckFailure

if TYPE_CHECKING:
    from bot.app import MarketBot

T = TypeVar("T")


class NotMember(MarketError):
    """The user is no longer a member of the server the contract (job, case) belongs to."""

    default_key = "error.abuse.not_member"


async def require_member(interaction: discord.Interaction[Any], guild_id: int) -> None:
    """Refuse a user who is not a member of ``guild_id`` now. Inside that guild Discord
    vouches for it (the interaction carries the member); otherwise (a DM) the member is
    fetched: the bot has no members intent, so its cache never learns that someone left."""
    if interaction.guild_id == guild_id and isinstance(interaction.user, discord.Member):
        return
    guild = interaction.client.get_guild(guild_id)
    if guild is None:  # the bot itself is no longer there
        raise NotMember()
    try:
        await guild.fetch_member(interaction.user.id)
    except discord.NotFound:
        raise NotMember() from None


class NotModerator(app_commands.CheckFailure):
    """The member has neither the guild's moderator role nor Manage Server."""


class NotManager(app_commands.CheckFailure):
    """The member does not have Manage Server."""


def _member(interaction: discord.Interaction[Any]) -> discord.Member:
    if interaction.guild_id is None or not isinstance(interaction.user, discord.Member):
        raise app_commands.NoPrivateMessage()
    return interaction.user


async def member_is_moderator(interaction: discord.Interaction[MarketBot]) -> bool:
    """True for the guild's moderators; raises NotConfigured before /setup."""
    return await is_guild_moderator(interaction.client, _member(interaction))


async def is_guild_moderator(bot: MarketBot, member: discord.Member) -> bool:
    """Whether ``member`` has the guild's moderator role or Manage Server."""
    guild = await bot.services.guilds.require(member.guild.id)
    if member.guild_permissions.manage_guild:
        return True
    return member.get_role(guild.moderator_role_id) is not None


async def require_case_moderator(interaction: discord.Interaction[MarketBot], guild_id: int) -> None:
    """For case cards: a moderator of the guild, or, on a card in a DM (a report about a
    moderator goes to the server owner), that guild's owner."""
    if interaction.guild_id is None:
        guild = interaction.client.get_guild(guild_id)
        if guild is None or guild.owner_id != interaction.user.id:
            raise NotModerator("the server owner only")
        return
    await require_moderator(interaction)
async def is_moderator_member(bot: MarketBot, member: discord.Member | discord.User) -> bool:
    """Whether ``member`` (not the one interacting) is one of its guild's moderators."""
    if not isinstance(member, discord.Member):
        return False
    guild = await bot.services.guilds.require(member.guild.id)
    return member.guild_permissions.manage_guild or member.get_role(guild.moderator_role_id) is not None


async def autocomplete_moderator(interaction: discord.Interaction[MarketBot]) -> bool:
    """For autocomplete, which discord.py runs without the command's checks: whether the member
    is a moderator; False outside a guild and before /setup (where the check would raise)."""
    if interaction.guild_id is None or not isinstance(interaction.user, discord.Member):
        return False
    if await interaction.client.services.guilds.get(interaction.guild_id) is None:
        return False
    return await member_is_moderator(interaction)


async def require_moderator(interaction: discord.Interaction[MarketBot]) -> None:
    """For buttons and modals: raise unless the user is a moderator of this guild."""
    if not await member_is_moderator(interaction):
        raise NotModerator("moderator role or Manage Server required")


def is_moderator() -> Callable[[T], T]:
    async def predicate(interaction: discord.Interaction[MarketBot]) -> bool:
        try:
            await require_moderator(interaction)
        except MarketError as error:
            raise MarketCheckFailure(error) from error
        return True

    return app_commands.check(predicate)


def is_manager() -> Callable[[T], T]:
    """Manage Server in the guild (not only in the channel's overwrites)."""

    async def predicate(interaction: discord.Interaction[Any]) -> bool:
        if not _member(interaction).guild_permissions.manage_guild:
            raise NotManager("Manage Server required")
        return True

    return app_commands.check(predicate)
