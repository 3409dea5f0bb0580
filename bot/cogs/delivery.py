"""``/deliver contract file [file2] [file3] [note]``: the worker delivers files.

Nothing is downloaded before the service agreed that this user may deliver on this
contract (it exists in this guild, they are its worker, its state allows a delivery):
anyone can attach files to a command, and a download costs the bot bandwidth and disk.
The attachments are then streamed to disk at once (Discord's links expire), hashed while
written, never held whole in memory, and stored by the bot; the
client gets a DM with the file names and hashes and the review buttons, and the files
are re-posted from the bot's storage into the contract thread (bot/ui/review_buttons.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import InvalidInput
from bot.i18n import t
from bot.services.deliveries import StoredUpload, display_name
from bot.services.files import TooLarge
from bot.ui.format import format_args
from bot.ui.review_buttons import file_lines

if TYPE_CHECKING:
    from bot.app import MarketBot

Interaction = discord.Interaction["MarketBot"]

MEBIBYTE = 1024 * 1024
NOTE_LIMIT = 1000
CHUNK_BYTES = 256 * 1024


async def url_chunks(session: aiohttp.ClientSession, url: str, **kwargs: object) -> AsyncIterator[bytes]:
    """The body at ``url`` in chunks of at most CHUNK_BYTES (Discord's CDN, streamed)."""
    async with session.get(url, **kwargs) as resp:  # type: ignore[arg-type]
        if resp.status != 200:
            raise discord.HTTPException(resp, "failed to get attachment")
        async for chunk in resp.content.iter_chunked(CHUNK_BYTES):
            yield chunk


async def attachment_chunks(client: discord.Client, attachment: discord.Attachment) -> AsyncIterator[bytes]:
    """Stream an attachment through the bot's own HTTP session (discord.py only offers
    ``read()``, which holds the whole file, and ``save()``, which calls it). Without a live
    session (a client not connected over real HTTP) discord.py's own read is used."""
    http = client.http
    session = getattr(http, "_HTTPClient__session", None)
    if isinstance(session, aiohttp.ClientSession) and not session.closed:
        proxy = {"proxy": http.proxy, "proxy_auth": http.proxy_auth} if http.proxy else {}
        async for chunk in url_chunks(session, attachment.url, **proxy):
            yield chunk
    else:
        yield await attachment.read()


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
        services = self.bot.services
        # before a byte is read: may this user deliver on this contract at all?
        await services.deliveries.check_deliver(interaction.guild_id, contract, actor_id=interaction.user.id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        files = []
        for attachment in attachments:
            try:
                digest, size = await services.files.put_stream(attachment_chunks(self.bot, attachment), limit)
            except TooLarge:
                raise InvalidInput(
                    "error.delivery.too_large", filename=display_name(attachment.filename), limit_mb=limit // MEBIBYTE
                ) from None
            files.append(StoredUpload(attachment.filename, digest, size, attachment.content_type))
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
