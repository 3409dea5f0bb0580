"""Stopping the bot (SIGTERM -> ``MarketBot.close()``) while it works logs no error: the
running sweep and the outbox send in progress finish and are recorded (or, past the grace
period, are cancelled and left to be sent once after the restart); the database stays
consistent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import bot.app
from bot.db import Database
from bot.i18n import catalogue
from bot.repositories.outbox import enqueue
from tests.bot.conftest import Market

TEXT = "Your payout is ready."


@pytest.fixture(autouse=True)
def test_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    for language in ("en", "ja"):
        monkeypatch.setitem(catalogue(language), "stoptest.payout", TEXT)


def slow_sends(market: Market, monkeypatch: pytest.MonkeyPatch) -> tuple[asyncio.Event, asyncio.Event]:
    """Discord takes its time to accept a message: ``entered`` is set when a send is under
    way, the answer comes once the test sets ``answer`` (a test double at the HTTP boundary)."""
    entered, answer = asyncio.Event(), asyncio.Event()
    http = market.bot.http
    original: Callable[..., Awaitable[Any]] = http.send_message

    async def send_message(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        await answer.wait()
        return await original(*args, **kwargs)

    monkeypatch.setattr(http, "send_message", send_message)
    return entered, answer


async def write_row(market: Market) -> int:
    """An outbox row as a service writes it; its commit kicks the dispatcher (no settle: the
    send is left under way)."""
    async with market.services.db.transaction() as conn:
        await enqueue(conn, guild_id=market.guild.id, target="dm", recipient_id=market.worker.id,
                      message_key="stoptest.payout", now=market.clock.now())
    latest = await market.services.db.fetchone("SELECT MAX(id) FROM outbox")
    assert latest is not None
    return int(latest[0])


async def row_after_close(market: Market, row_id: int) -> dict[str, Any]:
    db = Database(market.settings.database_path)
    await db.connect()
    try:
        row = await db.fetchone("SELECT status, attempts, message_id, last_error FROM outbox WHERE id = ?", (row_id,))
    finally:
        await db.close()
    assert row is not None
    return dict(row)


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_stop_during_a_sweep_and_a_send_waits_for_them(
    setup_market: Market, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    market = setup_market
    bot_ = market.bot
    entered, answer = slow_sends(market, monkeypatch)
    row_id = await write_row(market)
    await asyncio.wait_for(entered.wait(), 5)  # the dispatcher is inside the send
    sweep = asyncio.create_task(bot_.run_sweep())  # a scheduler tick, waiting for the outbox
    await asyncio.sleep(0)

    closing = asyncio.create_task(bot_.close())
    await asyncio.sleep(0.05)
    assert not closing.done()  # the send in progress is waited for
    answer.set()
    await asyncio.wait_for(closing, 5)
    await asyncio.wait_for(sweep, 5)

    assert errors(caplog) == []
    [dm] = market.dms(market.worker)
    assert dm.content == TEXT
    row = await row_after_close(market, row_id)
    assert (row["status"], row["message_id"]) == ("sent", dm.id)


async def test_a_send_that_outlasts_the_grace_period_is_left_for_the_restart(
    setup_market: Market, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    market = setup_market
    monkeypatch.setattr(bot.app, "SHUTDOWN_GRACE", 0.1)
    entered, _ = slow_sends(market, monkeypatch)  # Discord never answers
    row_id = await write_row(market)
    await asyncio.wait_for(entered.wait(), 5)

    await asyncio.wait_for(market.bot.close(), 5)

    assert errors(caplog) == []
    assert market.dms(market.worker) == []
    row = await row_after_close(market, row_id)
    assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 0, None)  # sent after the restart
