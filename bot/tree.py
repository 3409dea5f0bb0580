"""The command tree: one error renderer for commands, buttons and modals.

Every refusal reaches the user as an ephemeral message in their language:

- a ``MarketError`` (bot/errors.py) -> ``t(locale, err.key, **err.args_map)``;
- a failed check -> ``error.check_failed`` (``error.guild_only`` outside a server; a
  check that failed because of a ``MarketError``, such as a guild that is not set up,
  shows that error);
- a value a transformer rejected -> ``error.invalid_input``;
- anything else -> ``error.unexpected`` with an 8-hex-digit code that is also in the
  log line with the traceback, so a user can quote it to a moderator.

discord.py routes slash-command errors to ``CommandTree.on_error``; errors raised in a
``DynamicItem`` callback are only logged by discord.py (``ViewStore``), and a ``View`` or
``Modal`` has its own ``on_error``. Buttons (bot/ui/buttons.py) and modals therefore
catch and call :func:`report_error` themselves.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.errors import MarketError
from bot.i18n import t
from bot.ui.format import format_args

if TYPE_CHECKING:
    from bot.app import MarketBot

log = logging.getLogger(__name__)

ERROR_CODE_ATTR = "market_error_code"


class MarketCheckFailure(app_commands.CheckFailure):
    """A check that failed with a user-facing ``MarketError`` (e.g. NotConfigured).

    discord.py only routes ``AppCommandError`` raised by checks to the error handlers,
    so checks wrap the ``MarketError`` in this.
    """

    def __init__(self, error: MarketError) -> None:
        super().__init__(error.key)
        self.error = error


def user_error(error: BaseException) -> tuple[str, dict[str, Any]] | None:
    """The message (key, args) for an error the user caused, or None if it is a bug."""
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(original, MarketError):
        return original.key, original.args_map
    if isinstance(original, MarketCheckFailure):
        return original.error.key, original.error.args_map
    if isinstance(original, app_commands.NoPrivateMessage):
        return "error.guild_only", {}
    if isinstance(original, app_commands.CheckFailure):
        return "error.check_failed", {}
    if isinstance(original, app_commands.TransformerError):
        return "error.invalid_input", {}
    return None


async def send_ephemeral(interaction: discord.Interaction[Any], content: str) -> None:
    """Answer privately, whether or not the interaction was already responded to."""
    mentions = discord.AllowedMentions.none()
    try:
        if interaction.response.is_done():
            await interaction.followup.send(content, ephemeral=True, allowed_mentions=mentions)
        else:
            await interaction.response.send_message(content, ephemeral=True, allowed_mentions=mentions)
    except discord.HTTPException as exc:
        log.warning(
            "could not deliver an error message for interaction %s (user %s): %s",
            interaction.id,
            interaction.user.id,
            exc,
        )


async def report_error(interaction: discord.Interaction[Any], error: BaseException) -> str | None:
    """Render ``error`` to the user. Returns the error code for unexpected errors, else None."""
    known = user_error(error)
    metrics = getattr(interaction.client, "metrics", None)
    if metrics is not None:
        metrics.finished(interaction, "refused" if known is not None else "error")
    if known is not None:
        key, args = known
        log.debug("refused interaction %s for user %s: %s", interaction.id, interaction.user.id, key)
        await send_ephemeral(interaction, t(interaction.locale, key, **format_args(args, interaction.locale)))
        return None
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    code = secrets.token_hex(4)
    setattr(original, ERROR_CODE_ATTR, code)
    command = interaction.command.qualified_name if interaction.command else None
    log.error(
        "unexpected error %s in interaction %s (command %s, user %s, guild %s)",
        code,
        interaction.id,
        command,
        interaction.user.id,
        interaction.guild_id,
        exc_info=original,
    )
    await send_ephemeral(interaction, t(interaction.locale, "error.unexpected", code=code))
    return code


class MarketTree(app_commands.CommandTree["MarketBot"]):
    """Remembers each user's locale and renders every command error."""

    async def interaction_check(self, interaction: discord.Interaction[MarketBot], /) -> bool:
        await interaction.client.note_locale(interaction)
        return True

    async def on_error(
        self, interaction: discord.Interaction[MarketBot], error: app_commands.AppCommandError, /
    ) -> None:
        await report_error(interaction, error)
