"""Base class for modals: the same error rendering and locale tracking as commands.

Subclass :class:`MarketModal`, give every ``TextInput`` an explicit ``custom_id`` (tests
fill modals by it) and implement ``on_submit``; raise ``MarketError`` for refusals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.tree import report_error

if TYPE_CHECKING:
    from bot.app import MarketBot


class MarketModal(discord.ui.Modal):
    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        bot: MarketBot = interaction.client
        await bot.note_locale(interaction)
        return True

    async def on_error(self, interaction: discord.Interaction[Any], error: Exception, /) -> None:  # type: ignore[override]
        await report_error(interaction, error)
