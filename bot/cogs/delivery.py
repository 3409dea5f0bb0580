"""``/deliver contract file [file2] [file3] [note]``: the worker delivers files.

The attachments are read at once (Discord's links expire) and stored by the bot; the
client gets a DM with the file names and hashes and the review buttons, and the files
are re-posted from the bot's storage into the contract thread (bot/ui/review_buttons.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import InvalidInput
from bot.i18n import t
from bot.services.deliveries import IncomingFile, display_name
from bot.ui.format import format_args
from bot.ui.review_buttons import file_lines

if TYPE_CHECKING:
    from bot.app import MarketBot

Interaction = discord.Interaction["MarketBot"]

MEBIBYTE = 1024 * 1024
NOTE_LIMIT = 1000


async def contract_choices(
    interaction: Interaction, current: str, purpose: str | None
) -> list[app_commands.Choice[int]]:
    """Autocomplete for a ``contract`` option: the user's contracts fit for ``purpose``."""
    if interaction.guild_id is None:
        return []
    found = await interaction.client.services.contracts.suggest(
        interaction.guild_id, interaction.user.id, current, purpose=purpose
    )
    return [
        app_commands.Choice(
            name=t(
                interaction.locale,
                "ui.delivery.contract_choice",
                **format_args({"contract_id": contract.id, "status": str(contract.status)}, interaction.locale),
            )[:100],
            value=contract.id,
        )
        for contract in found[:25]
    ]


class DeliveryCog(commands.Cog):
    def __init__(self, bot: MarketBot) -> None:
        self.bot = bot

    @app_commands.command(name="deliver", description="Deliver your work on a contract (the worker)")
    @app_commands.describe(
        contract="The contract you are delivering",
        file="A file of the delivery",
        file2="Another file (optional)",
        file3="Another file (optional)",
        note="A note for the client",
    )
    @app_commands.guild_only()
    async def deliver(
        self,
        interaction: Interaction,
        contract: app_commands.Range[int, 1],
        file: discord.Attachment,
        file2: discord.Attachment | None = None,
        file3: discord.Attachment | None = None,
        note: app_commands.Range[str, 1, NOTE_LIMIT] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        attachments = [a for a in (file, file2, file3) if a is not None]
        limit = self.bot.settings.max_file_bytes
        for attachment in attachments:  # refused before downloading anything
            if attachment.size > limit:
                raise InvalidInput(
                    "error.delivery.too_large", filename=display_name(attachment.filename), limit_mb=limit // MEBIBYTE
                )
        await interaction.response.defer(ephemeral=True, thinking=True)
        files = [IncomingFile(a.filename, await a.read(), a.content_type) for a in attachments]
        services = self.bot.services
        delivery = await services.deliveries.deliver(
            interaction.guild_id, contract, actor_id=interaction.user.id, files=files, note=note
        )
        stored = await services.deliveries.files_of(contract, delivery.id)
        text = t(
            interaction.locale,
            "ui.delivery.done",
            contract_id=contract,
            delivery_id=delivery.id,
            files=file_lines(interaction.locale, stored),
        )
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())

    @deliver.autocomplete("contract")
    async def deliver_contract(self, interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
        return await contract_choices(interaction, current, "deliver")


async def setup(bot: MarketBot) -> None:
    await bot.add_cog(DeliveryCog(bot))
