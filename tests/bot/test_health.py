"""The running bot's heartbeat: written on gateway ready/disconnect/resume and after each
finished sweep, read by ``python -m bot health`` (bot/ops/health.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.ops.health import health_path, read_health
from tests.bot.conftest import Market


async def events_run() -> None:
    """``dispatch`` schedules the listener as a task: let it run."""
    for _ in range(3):
        await asyncio.sleep(0)


async def test_the_bot_reports_its_gateway_and_sweeps(market: Market) -> None:
    bot = market.bot
    path = health_path(market.settings.database_path)
    tick = market.settings.scheduler_tick

    def health() -> tuple[bool, str]:
        result = read_health(path, tick=tick, now=market.clock.now())
        return result.healthy, result.line

    healthy, line = health()  # ready, and the start-up sweep finished
    assert healthy, line
    market.clock.advance(3 * tick + timedelta(minutes=1))
    healthy, line = health()
    assert not healthy
    assert line.endswith("last sweep finished 4m ago (more than 3m30s)"), line
    await bot.run_sweep()
    assert health()[0]

    bot.dispatch("disconnect")
    await events_run()
    healthy, line = health()
    assert not healthy and line.endswith("is not connected to Discord")
    bot.dispatch("resumed")
    await events_run()
    assert health()[0]
