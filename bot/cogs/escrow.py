"""``/escrow``: deposit (the client declares it), status (parties, moderators), confirm
(moderators: the money arrived)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import autocomplete_moderator, is_moderator, member_is_moderator
from bot.i18n import t
from bot.services.common import LIMITS
from bot.ui.contract_buttons import confirmed_text, deposit_text
from bot.ui.contract_views import NO_MENTIONS, clip, contract_choice, escrow_embed
from bot.ui.format import format_money
from bot.ui.payment_buttons import send_checkout

if TYPE_CHECKING:
    from bot.app import MarketBot

Interaction = discord.Interaction["MarketBot"]
Choices = list[app_commands.Choice[int]]
ContractId = app_commands.Range[int, 1]
Reference = app_commands.Range[str, 1, LIMITS["reference"]]


@app_commands.guild_only()
class EscrowCog(commands.GroupCog, group_name="escrow", group_description="Escrow: the money held for a contract"):
    def __init__(self, bot: MarketBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="deposit", description="Declare that you paid the escrow for your contract")
    @app_commands.describe(contract="Your contract", reference="The payment reference, to help the moderators find it")
    async def escrow_deposit(
        self,
        interaction: Interaction,
        contract: ContractId,
        reference: Reference | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        if await self.bot.services.payments.provider(interaction.guild_id) == "stripe":
            await send_checkout(interaction, interaction.guild_id, contract)
            return
        deposit = await self.bot.services.escrow.deposit(
            interaction.guild_id, contract, actor_id=interaction.user.id, reference=reference
        )
        text = deposit_text(deposit, await self._currency(contract), interaction.locale)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="status", description="What the escrow of a contract holds")
    @app_commands.describe(contract="The contract")
    async def escrow_status(self, interaction: Interaction, contract: ContractId) -> None:
        assert interaction.guild_id is not None
        status = await self.bot.services.escrow.status(
            interaction.guild_id,
            contract,
            viewer_id=interaction.user.id,
            is_moderator=await member_is_moderator(interaction),
        )
        embed = escrow_embed(status, interaction.locale)
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="confirm", description="Confirm that a declared deposit arrived (moderators)")
    @app_commands.describe(contract="The contract whose deposit arrived")
    @is_moderator()
    async def escrow_confirm(self, interaction: Interaction, contract: ContractId) -> None:
        assert interaction.guild_id is not None
        deposit = await self.bot.services.escrow.confirm(
            interaction.guild_id, contract, moderator_id=interaction.user.id
        )
        text = confirmed_text(deposit, await self._currency(contract), interaction.locale)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def _currency(self, contract_id: int) -> str:
        found = await self.bot.services.contracts.get(contract_id)
        return found.currency if found else ""

    # -- autocomplete ------------------------------------------------------------------

    async def _contracts(
        self, interaction: Interaction, current: str, purpose: str | None, *, is_moderator: bool = False
    ) -> Choices:
        if interaction.guild_id is None:
            return []
        found = await self.bot.services.contracts.suggest(
            interaction.guild_id, interaction.user.id, current, purpose=purpose, is_moderator=is_moderator
        )
        return [
            app_commands.Choice(name=contract_choice(c, interaction.user.id, interaction.locale), value=c.id)
            for c in found[:25]
        ]

    @escrow_deposit.autocomplete("contract")
    async def deposit_contract(self, interaction: Interaction, current: str) -> Choices:
        return await self._contracts(interaction, current, "deposit")

    @escrow_status.autocomplete("contract")
    async def status_contract(self, interaction: Interaction, current: str) -> Choices:
        return await self._contracts(interaction, current, None, is_moderator=await autocomplete_moderator(interaction))

    @escrow_confirm.autocomplete("contract")
    async def confirm_contract(self, interaction: Interaction, current: str) -> Choices:
        """The deposits waiting for a moderator in this server (none for anyone else)."""
        if interaction.guild_id is None:
            return []
        guild = await self.bot.services.guilds.get(interaction.guild_id)
        if guild is None:
            return []
        deposits = await self.bot.services.escrow.suggest_confirm(
            interaction.guild_id, interaction.user.id, current, is_moderator=await member_is_moderator(interaction)
        )
        locale = interaction.locale
        choices = []
        for deposit in deposits:
            amount = format_money(deposit.amount, guild.currency, locale)
            name = t(locale, "ui.escrow.confirm_choice", contract_id=deposit.contract_id, amount=amount)
            choices.append(app_commands.Choice(name=clip(name, 100), value=deposit.contract_id))
        return choices


async def setup(bot: MarketBot) -> None:
    await bot.add_cog(EscrowCog(bot))
