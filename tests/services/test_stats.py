"""The figures the metrics read after each sweep (bot/services/stats.py), on a real database."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FakeClock
from bot.models.entities import Guild
from bot.services.container import Services
from tests.services.helpers import balance, completed_contract, funded_contract


async def test_an_empty_database(services: Services, guild: Guild) -> None:
    stats = await services.stats.snapshot()
    assert (stats.outbox_backlog, stats.outbox_oldest_age, stats.escrow, stats.owed) == (0, 0.0, {}, {})


async def test_backlog_age_and_money_held_and_owed(services: Services, guild: Guild, clock: FakeClock) -> None:
    held = await funded_contract(services, clock)
    done = await completed_contract(services, clock)
    clock.advance(timedelta(minutes=5))
    stats = await services.stats.snapshot()

    # nothing dispatches the outbox here: every notification written so far waits
    assert stats.outbox_backlog > 0
    assert stats.outbox_oldest_age >= 300
    assert stats.escrow == {"JPY": await balance(services, f"escrow:{held.id}")}
    owed = await balance(services, f"owed:{done.worker_id}")
    assert owed > 0 and stats.owed == {"JPY": owed}
