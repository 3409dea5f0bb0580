"""``/help``: what to do next, in the user's language."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import member_is_moderator
from bot.i18n import t

if TYPE_CHECKING:
    from bot.app import MarketBot

Interaction = discord.Interaction["MarketBot"]

# The commands the guide names; each becomes a clickable mention once synced.
GUIDE_COMMANDS = (
    "setup",
    "config show",
    "config set",
    "help",
    "profile view",
    "profile edit",
    "profile payout",
    "job post",
    "job list",
    "job apply",
    "job applications",
    "contract offer",
    "contract accept",
    "contract view",
    "contract history",
    "contract amend",
    "escrow deposit",
    "escrow confirm",
    "deliver",
    "review approve",
    "review revise",
    "rate",
    "report",
    "dispute",
    "escrow status",
    "contract decline",
    "mod cases",
    "mod payout",
)


class HelpCog(commands.Cog):
    def __init__(self, bot: MarketBot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="How the marketplace works and what to do next")
    async def help_guide(self, interaction: Interaction) -> None:
        mentions = {name.replace(" ", "_"): self.bot.command_mention(name) for name in GUIDE_COMMANDS}
        sections = await self._sections(interaction)
        parts = [t(interaction.locale, f"help.{section}", **mentions) for section in sections]
        if interaction.guild_id is not None and "not_set_up" not in sections:
            steps = await self.bot.services.contracts.next_steps(interaction.guild_id, interaction.user.id)
            if steps:
                lines = [t(interaction.locale, f"help.next.{step}", contract_id=c.id, **mentions) for c, step in steps]
                parts.insert(1, "\n".join([t(interaction.locale, "help.next.title"), *lines]))
        await interaction.response.send_message(
            "\n\n".join(parts)[:2000], ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )

    async def _sections(self, interaction: Interaction) -> list[str]:
        if interaction.guild_id is None:
            return ["intro", "in_dm"]
        guild = await self.bot.services.guilds.get(interaction.guild_id)
        if guild is None:
            return ["not_set_up"]
        sections = ["intro", "client", "worker"]
        if await member_is_moderator(interaction):
            sections.append("moderator")
        return sections


async def setup(bot: MarketBot) -> None:
    await bot.add_cog(HelpCog(bot))
