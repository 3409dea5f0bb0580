"""Logging set-up: levels, text or JSON lines, ids bound per interaction.

- ``LOG_LEVEL`` sets the bot's loggers (``bot.*``) only. discord.py's loggers stay at INFO
  unless ``DISCORD_LOG_LEVEL`` says otherwise: at DEBUG they log every gateway event and
  HTTP request body, which include modal text (payout details), interaction tokens and DM
  text.
- ``LOG_FORMAT=json``: one JSON object per line (``ts``, ``level``, ``logger``, ``msg``, the
  bound ids, ``exc`` when there is a traceback), for a log collector. ``text`` (default):
  one readable line, coloured only when stderr is a terminal.
- :func:`bind_interaction` binds the interaction, guild, user and contract ids to the
  current task (a ``contextvars`` variable): every line logged while that interaction is
  handled carries them. The bot calls it from ``MarketBot.note_locale``, which the command
  tree, the buttons and the modals all call first (their ``interaction_check``).
- discord.py's "PyNaCl / davey is not installed, voice will NOT be supported" warnings are
  dropped: the bot uses no voice.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, Any

import discord

_ids: contextvars.ContextVar[Mapping[str, int] | None] = contextvars.ContextVar("log_ids", default=None)
# custom ids whose target is a contract: buttons (bot/ui/buttons.py) and modals
_CONTRACT_CUSTOM_ID = re.compile(r"^cw:(?:contract|escrow|review|decline_modal|amend_modal|deposit_modal):(\d+)(?::|$)")
TEXT_FORMAT = "[{asctime}] [{levelname:<8}] {name}: {message}"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def bind(**ids: int | None) -> None:
    """Add ids to the current task's log context (None values are left out)."""
    current = dict(_ids.get() or {})
    current.update({name: value for name, value in ids.items() if value is not None})
    _ids.set(current)


def bound() -> Mapping[str, int]:
    return dict(_ids.get() or {})


def _contract_option(options: Any) -> int | None:
    """The ``contract`` option of a slash command, in any subcommand (raw payload)."""
    for option in options or ():
        if not isinstance(option, dict):
            continue
        if option.get("name") == "contract" and isinstance(option.get("value"), int):
            return int(option["value"])
        found = _contract_option(option.get("options"))
        if found is not None:
            return found
    return None


def contract_of(interaction: discord.Interaction[Any]) -> int | None:
    """The contract an interaction is about: a contract, escrow or review button, a
    contract's modal, or a command's ``contract`` option."""
    data: Mapping[str, Any] = interaction.data or {}
    match = _CONTRACT_CUSTOM_ID.match(str(data.get("custom_id", "")))
    if match:
        return int(match.group(1))
    return _contract_option(data.get("options"))


def bind_interaction(interaction: discord.Interaction[Any]) -> None:
    bind(interaction=interaction.id, guild=interaction.guild_id, user=interaction.user.id,
         contract=contract_of(interaction))


class ContextFilter(logging.Filter):
    """Puts the bound ids on each record (``record.ids``) as it is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.ids = bound()
        return True


class NoVoiceWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "voice will NOT be supported" not in record.getMessage()


NO_VOICE_WARNINGS = NoVoiceWarnings()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "ids", None) or {})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


LEVEL_COLOURS: Mapping[int, str] = {
    logging.DEBUG: "\x1b[40;1m", logging.INFO: "\x1b[34;1m", logging.WARNING: "\x1b[33;1m",
    logging.ERROR: "\x1b[31m", logging.CRITICAL: "\x1b[41m",
}


class ColourFormatter(logging.Formatter):
    """The text format with the level coloured (for a terminal only)."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        colour = LEVEL_COLOURS.get(record.levelno)
        if colour is None:
            return text
        level = f"[{record.levelname:<8}]"
        return text.replace(level, f"{colour}{level}\x1b[0m", 1)


def formatter_for(log_format: str, stream: IO[str]) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    # discord.py's own set-up also colours inside Docker without a terminal: we do not
    tty = hasattr(stream, "isatty") and stream.isatty()
    cls = ColourFormatter if tty else logging.Formatter
    return cls(TEXT_FORMAT, DATE_FORMAT, style="{")


_installed: list[logging.Handler] = []


def setup_logging(
    *, level: str = "INFO", discord_level: str = "INFO", log_format: str = "text", stream: IO[str] | None = None
) -> logging.Handler:
    """One handler on the root logger (replacing the one a previous call installed)."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter_for(log_format, handler.stream))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    while _installed:
        root.removeHandler(_installed.pop())
    root.addHandler(handler)
    _installed.append(handler)
    root.setLevel(logging.INFO)  # other libraries (apscheduler, aiohttp): INFO
    logging.getLogger("bot").setLevel(level)
    logging.getLogger("discord").setLevel(discord_level)
    voice = logging.getLogger("discord.client")
    if NO_VOICE_WARNINGS not in voice.filters:
        voice.addFilter(NO_VOICE_WARNINGS)
    return handler
