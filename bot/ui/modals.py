"""Base class for modals: the same error rendering and locale tracking as commands.

Subclass :class:`MarketModal`, give every ``TextInput`` an explicit ``custom_id`` (tests
fill modals by it) and implement ``on_submit``; raise ``MarketError`` for refusals.

discord.py has no completion hook for modals (commands have ``on_app_command_completion``),
so each subclass's ``on_submit`` is wrapped to count a submit that ended without error in
the metrics (bot/metrics.py); errors are counted by ``report_error``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord

from bot.tree import report_error

if TYPE_CHECKING:
    from bot.app import MarketBot


Submit = Callable[[Any, discord.Interaction[Any]], Awaitable[None]]


def _counted(submit: Submit) -> Submit:
    @functools.wraps(submit)
    async def on_submit(self: Any, interaction: discord.Interaction[Any]) -> None:
        await submit(self, interaction)
        interaction.client.metrics.finished(interaction, "ok")

    return on_submit


class MarketModal(discord.ui.Modal):
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        submit = cls.__dict__.get("on_submit")
        if submit is not None:
            cls.on_submit = _counted(submit)  # type: ignore[method-assign, assignment]

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        bot: MarketBot = interaction.client
        await bot.note_locale(interaction)
        return True

    async def on_error(self, interaction: discord.Interaction[Any], error: Exception, /) -> None:  # type: ignore[override]
        await report_error(interaction, error)
