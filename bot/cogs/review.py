"""``/review approve contract`` and ``/review revise contract reason``: the client reviews a
delivery (also the buttons of the delivery DM, bot/ui/review_buttons.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.delivery import contract_choices
from bot.i18n import t
from bot.ui.review_buttons import REASON_LIMIT, revision_reply

if TYPE_CHECKING:
    from bot.app import MarketBot

Interaction = discord.Interaction["MarketBot"]


@app_commands.guild_only()
class ReviewCog(commands.GroupCog, group_name="review", group_description="Review a delivery (the client)"):
    def __init__(self, bot: MarketBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="approve", description="Approve the delivery and release the escrow to the worker")
    @app_commands.describe(contract="The delivered contract")
    async def review_approve(self, interaction: Interaction, contract: app_commands.Range[int, 1]) -> None:
        assert interaction.guild_id is not None
        await self.bot.services.deliveries.approve(interaction.guild_id, contract, actor_id=interaction.user.id)
        await interaction.response.send_message(
            t(interaction.locale, "ui.review.approved", contract_id=contract),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(name="revise", description="Ask the worker for a revision of the delivery")
    @app_commands.describe(
        contract="The delivered contract", reason="What the delivery misses against the current terms"
    )
    async def review_revise(
        self,
        interaction: Interaction,
        contract: app_commands.Range[int, 1],
        reason: app_commands.Range[str, 1, REASON_LIMIT],
    ) -> None:
        assert interaction.guild_id is not None
        outcome = await self.bot.services.deliveries.request_revision(
            interaction.guild_id, contract, actor_id=interaction.user.id, reason=reason
        )
        await interaction.response.send_message(
            revision_reply(interaction.locale, outcome),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @review_approve.autocomplete("contract")
    async def review_approve_contract(self, interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
        return await contract_choices(interaction, current, "approve")

    @review_revise.autocomplete("contract")
    async def review_revise_contract(self, interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
        return await contract_choices(interaction, current, "revise")


async def setup(bot: MarketBot) -> None:
    await bot.add_cog(ReviewCog(bot))
