"""``/report user reason [contract]`` and ``/dispute contract reason``: open a moderator case.

A report is private: only the reporter sees the answer, and the reported user is never
told who reported them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import is_guild_moderator
from bot.cogs.delivery import contract_choices
from bot.i18n import t

if TYPE_CHECKING:
    from bot.app import MarketBot

Interaction = discord.Interaction["MarketBot"]

REASON_LIMIT = 1000


class CasesCog(commands.Cog):
    def __init__(self, bot: MarketBot) -> None:
        self.bot = bot

    @app_commands.command(name="report", description="Report a user to the moderators, privately")
    @app_commands.describe(
        user="The user you are reporting",
        reason="What happened",
        contract="The contract it is about, if any",
    )
    @app_commands.guild_only()
    async def report(
        self,
        interaction: Interaction,
        user: discord.User,
        reason: app_commands.Range[str, 1, REASON_LIMIT],
        contract: app_commands.Range[int, 1] | None = None,
    ) -> None:
        assert interaction.guild is not None
        # a moderator can read the mod channel: a report about one goes to the server owner
        to_owner = (
            isinstance(user, discord.Member)
            and user.id != interaction.guild.owner_id
            and await is_guild_moderator(self.bot, user)
        )
        case = await self.bot.services.cases.report(
            interaction.guild.id,
            reporter_id=interaction.user.id,
            user_id=user.id,
            reason=reason,
            contract_id=contract,
            to_owner=to_owner,
        )
        key = "ui.abuse.report_to_owner" if to_owner else "ui.report.done"
        text = t(interaction.locale, key, case_id=case.id, user=user.mention)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())

    @app_commands.command(name="dispute", description="Open a dispute on your contract for a moderator to settle")
    @app_commands.describe(contract="The contract in dispute", reason="What went wrong, in a few sentences")
    @app_commands.guild_only()
    async def dispute(
        self,
        interaction: Interaction,
        contract: app_commands.Range[int, 1],
        reason: app_commands.Range[str, 1, REASON_LIMIT],
    ) -> None:
        assert interaction.guild_id is not None
        case = await self.bot.services.cases.dispute(
            interaction.guild_id, contract, actor_id=interaction.user.id, reason=reason
        )
        text = t(interaction.locale, "ui.dispute.done", case_id=case.id, contract_id=contract)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())

    @report.autocomplete("contract")
    async def report_contract(self, interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
        return await contract_choices(interaction, current, None)

    @dispute.autocomplete("contract")
    async def dispute_contract(self, interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
        return await contract_choices(interaction, current, "dispute")


async def setup(bot: MarketBot) -> None:
    await bot.add_cog(CasesCog(bot))
