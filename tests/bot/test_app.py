"""The application shell: command sync, restarts, the sweep, thread activity, shutdown."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import discord
import pytest
import simcord

from bot.app import OUTBOX_RETRY_SECONDS, MarketBot, create_bot
from bot.clock import FakeClock
from bot.config import Settings
from bot.services.timers import SweepReport
from tests.bot.conftest import Market
from tests.bot.helpers import ContractsStub


def command_puts(market: Market) -> list[str]:
    return [r.path for r in market.env.http_requests if r.method == "PUT" and r.path.endswith("/commands")]


async def test_commands_sync_only_when_the_tree_changed(setup_market: Market) -> None:
    market = setup_market
    assert market.bot.synced_commands
    assert len(command_puts(market)) == 1

    await market.restart()

    assert not market.bot.synced_commands
    assert len(command_puts(market)) == 1  # the same tree: no second sync
    result = await market.worker.slash(market.general, "help")  # still served
    assert result.response is not None and result.ephemeral
    assert {"setup", "config", "help"} <= set(market.bot.command_ids)  # fetched, for /help's mentions


async def test_a_changed_tree_is_synced_again(setup_market: Market) -> None:
    market = setup_market
    market.bot.tree.get_command("help").description = "Changed"  # type: ignore[union-attr]
    assert await market.bot.sync_commands()
    assert len(command_puts(market)) == 2
    assert not await market.bot.sync_commands()


async def test_a_restart_keeps_working(setup_market: Market) -> None:
    market = setup_market
    await market.restart()

    result = await market.moderator.slash(market.general, "config set", name="fee_percent", value="12")
    assert result.ephemeral
    assert (await market.services.guilds.policies(market.guild.id)).integer("fee_percent") == 12


class TimersStub:
    def __init__(self) -> None:
        self.calls: list[datetime] = []

    async def sweep(self, now: datetime) -> SweepReport:
        self.calls.append(now)
        return SweepReport()


async def test_the_sweep_calls_the_timers_with_the_clock(setup_market: Market, monkeypatch: pytest.MonkeyPatch) -> None:
    market = setup_market
    timers = TimersStub()
    monkeypatch.setattr(market.services, "timers", timers, raising=False)

    market.clock.advance(timedelta(days=2))
    await market.sweep()

    assert timers.calls == [market.clock.now()]


async def test_the_sweep_survives_a_failing_timer(
    setup_market: Market, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    market = setup_market

    class Broken:
        async def sweep(self, now: datetime) -> None:
            raise RuntimeError("sweep broke")

    monkeypatch.setattr(market.services, "timers", Broken(), raising=False)
    with caplog.at_level(logging.ERROR, logger="bot.app"):
        await market.sweep()
    assert any("sweep failed" in r.getMessage() for r in caplog.records)


async def test_thread_messages_are_tracked_without_content(
    setup_market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = setup_market
    contracts = ContractsStub()
    monkeypatch.setattr(market.services, "contracts", contracts, raising=False)
    parent = market.bot.get_channel(market.contracts.id)
    assert isinstance(parent, discord.TextChannel)
    thread = await parent.create_thread(name="contract-1", type=discord.ChannelType.private_thread)
    await thread.add_user(discord.Object(market.worker.id))
    await market.settle()
    [handle] = [c for c in market.contracts.threads if c.id == thread.id]

    public = await parent.create_thread(name="chat", type=discord.ChannelType.public_thread)
    await market.settle()
    [public_handle] = [c for c in market.contracts.threads if c.id == public.id]

    await market.worker.send(handle, "any update?")
    await market.worker.send(market.general, "not in a thread")
    await market.worker.send(public_handle, "a public thread")

    assert contracts.messages == [(thread.id, market.worker.id, market.clock.now())]


async def test_ready_is_logged_once_with_the_guild_count(
    simcord_env: simcord.Env,
    bot_settings: Settings,
    clock: FakeClock,
    built_bots: list[MarketBot],
    caplog: pytest.LogCaptureFixture,
) -> None:
    simcord_env.create_guild("One")
    bot = create_bot(bot_settings, clock=clock)
    built_bots.append(bot)
    with caplog.at_level(logging.INFO, logger="bot.app"):
        await simcord_env.restart_bot(bot)
    ready = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ready as")]
    assert len(ready) == 1 and ready[0].endswith("in 1 guilds")


async def test_release_stops_everything(setup_market: Market) -> None:
    bot = setup_market.bot
    assert bot.scheduler is not None and bot.scheduler.running
    await setup_market.settle()
    await bot.release()
    assert bot.scheduler is None and bot.db is None
    await bot.release()  # idempotent


async def test_the_scheduler_runs_the_sweep_every_tick_and_retries_the_outbox(
    simcord_env: simcord.Env, tmp_path: Path, clock: FakeClock, built_bots: list[MarketBot]
) -> None:
    settings = Settings(database_path=tmp_path / "bot.db", files_dir=tmp_path / "files",
                        scheduler_tick=timedelta(seconds=90))
    bot = create_bot(settings, clock=clock)
    built_bots.append(bot)
    await simcord_env.restart_bot(bot)
    scheduler = bot.scheduler
    assert scheduler is not None and scheduler.running
    assert str(scheduler.timezone) == "UTC"
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"sweep", "outbox-retry"}
    assert jobs["sweep"].func == bot.run_sweep
    assert jobs["sweep"].trigger.interval == timedelta(seconds=90)
    assert jobs["outbox-retry"].trigger.interval == timedelta(seconds=OUTBOX_RETRY_SECONDS)
    for job in jobs.values():  # a tick that overruns is not run twice at once, missed ones not piled up
        assert (job.max_instances, job.coalesce) == (1, True)
