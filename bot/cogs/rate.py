"""``/rate contract stars [comment]``: rate the other party once the contract is settled."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.delivery import contract_choices
from bot.i18n import t

if TYPE_CHECKING:
    from bot.app import MarketBot

Interaction = discord.Interaction["MarketBot"]

COMMENT_LIMIT = 1000


class RateCog(commands.Cog):
    def __init__(self, bot: MarketBot) -> None:
        self.bot = bot

    @app_commands.command(name="rate", description="Rate the other party of a finished contract")
    @app_commands.describe(
        contract="The finished contract",
        stars="From 1 (poor) to 5 (excellent)",
        comment="A few words about working together",
    )
    @app_commands.guild_only()
    async def rate(
        self,
        interaction: Interaction,
        contract: app_commands.Range[int, 1],
        stars: app_commands.Range[int, 1, 5],
        comment: app_commands.Range[str, 1, COMMENT_LIMIT] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        rating = await self.bot.services.reputation.rate(
            interaction.guild_id, contract, rater_id=interaction.user.id, stars=stars, comment=comment
        )
        text = t(
            interaction.locale,
            "ui.rate.done",
            contract_id=contract,
            user=f"<@{rating.ratee_id}>",
            stars="★" * rating.stars + "☆" * (5 - rating.stars),
        )
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())

    @rate.autocomplete("contract")
    async def rate_contract(self, interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
        return await contract_choices(interaction, current, "rate")


async def setup(bot: MarketBot) -> None:
    await bot.add_cog(RateCog(bot))
