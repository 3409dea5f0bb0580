"""Logging: levels per logger family, JSON lines, bound ids, no colour off a terminal,
no voice warnings (bot/logs.py)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import discord
import pytest

from bot import __main__ as cli
from bot.app import MarketBot
from bot.logs import bind, setup_logging

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """setup_logging changes process-wide state: put it back for the other tests."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    loggers = {name: logging.getLogger(name) for name in ("bot", "discord", "discord.client")}
    levels = {name: logger.level for name, logger in loggers.items()}
    filters = loggers["discord.client"].filters[:]
    yield
    root.handlers[:], root.level = saved
    for name, logger in loggers.items():
        logger.setLevel(levels[name])
    loggers["discord.client"].filters[:] = filters


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_ids_bound_in_their_task() -> None:
    stream = io.StringIO()
    setup_logging(log_format="json", stream=stream)
    log = logging.getLogger("bot.services.contracts")

    async def handle(interaction: int, contract: int | None) -> None:
        bind(interaction=interaction, guild=7, user=8, contract=contract)
        await asyncio.sleep(0)
        log.info("contract %s accepted", contract)

    async def both() -> None:
        await asyncio.gather(handle(1, 100), handle(2, None))  # two tasks: no mixing
        log.info("outside any interaction")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("it failed")

    asyncio.run(both())
    first, second, outside, failed = lines(stream)
    assert set(first) == {"ts", "level", "logger", "msg", "interaction", "guild", "user", "contract"}
    assert first["level"] == "INFO" and first["logger"] == "bot.services.contracts"
    assert first["msg"] == "contract 100 accepted"
    assert (first["interaction"], first["guild"], first["user"], first["contract"]) == (1, 7, 8, 100)
    assert second["interaction"] == 2 and "contract" not in second
    assert "interaction" not in outside
    assert failed["level"] == "ERROR" and "ValueError: boom" in str(failed["exc"])
    assert str(first["ts"]).endswith("+00:00")


def test_text_has_no_colour_codes_off_a_terminal() -> None:
    plain, terminal = io.StringIO(), Terminal()
    setup_logging(stream=plain)
    logging.getLogger("bot.x").warning("careful")
    setup_logging(stream=terminal)
    logging.getLogger("bot.x").warning("careful")
    assert "\x1b[" not in plain.getvalue() and "] bot.x: careful" in plain.getvalue()
    assert "\x1b[33;1m[WARNING ]\x1b[0m bot.x: careful" in terminal.getvalue()


def test_voice_warnings_are_dropped() -> None:
    stream = io.StringIO()
    setup_logging(stream=stream)
    discord.Client(intents=discord.Intents.none())  # PyNaCl and davey are not installed
    logging.getLogger("discord.client").warning("something else")
    output = stream.getvalue()
    assert "voice" not in output and "something else" in output


@pytest.mark.parametrize(
    ("env", "bot_debug", "discord_debug"),
    [({"LOG_LEVEL": "DEBUG"}, True, False), ({}, False, False),
     ({"LOG_LEVEL": "debug", "DISCORD_LOG_LEVEL": "DEBUG"}, True, True)],
)
def test_log_level_sets_only_the_bots_loggers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    env: dict[str, str], bot_debug: bool, discord_debug: bool,
) -> None:
    """``run`` as started: discord.py's gateway and HTTP debug logs (modal text, interaction
    tokens, DM bodies) stay off under LOG_LEVEL=DEBUG."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("FILES_DIR", str(tmp_path / "files"))
    monkeypatch.setenv("LOG_FORMAT", "json")
    for name in ("LOG_LEVEL", "DISCORD_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    seen: dict[str, bool] = {}

    async def start(self: MarketBot, token: str, *, reconnect: bool = True) -> None:
        seen["bot"] = logging.getLogger("bot.services.escrow").isEnabledFor(logging.DEBUG)
        for name in ("discord.gateway", "discord.http", "discord.state"):
            seen[name] = logging.getLogger(name).isEnabledFor(logging.DEBUG)
        logging.getLogger("discord.http").debug("POST /interactions/1/token with body {...}")
        logging.getLogger("bot.app").debug("a debug line of the bot")

    monkeypatch.setattr(MarketBot, "start", start)
    assert cli.main(["run"]) == 0
    assert seen == {"bot": bot_debug, "discord.gateway": discord_debug, "discord.http": discord_debug,
                    "discord.state": discord_debug}
    err = capsys.readouterr().err
    logged = [json.loads(line) for line in err.splitlines()]  # every line is JSON
    assert any(entry["msg"] == "a debug line of the bot" for entry in logged) == bot_debug
    assert any("/interactions/" in str(entry["msg"]) for entry in logged) == discord_debug


def test_a_bad_log_format_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("LOG_FORMAT", "xml")
    monkeypatch.setenv("DISCORD_LOG_LEVEL", "loud")
    assert cli.main(["check"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: DISCORD_LOG_LEVEL='LOUD' is not one of DEBUG, INFO, WARNING, ERROR",
        "error: LOG_FORMAT='xml' is not one of text, json",
    ]
