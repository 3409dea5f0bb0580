"""Helpers for the timer-sweep tests: move the clock and sweep, see what a sweep added,
restart the services over the same database file.

    changes = await Changes.start(services, contract.id)     # baseline: what exists now
    assert await step(services, changes, t0 + DAY) == {("remind.escrow", CLIENT): 1}
    assert await step(services, changes, t0 + DAY) == {}      # nothing twice

``step`` returns the outbox rows the sweep added for that contract, counted by
(message_key, recipient_id) (``recipient_id`` is None for mod-channel and thread rows).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from bot.clock import FakeClock
from bot.db import Database
from bot.models.entities import Contract
from bot.services.container import Services
from bot.services.timers import SweepReport

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

THREAD_ID = 7000

Key = tuple[str, int | None]


def fake_clock(services: Services) -> FakeClock:
    clock = services.clock
    assert isinstance(clock, FakeClock), "timer tests need the FakeClock"
    return clock


async def sweep_at(services: Services, when: datetime) -> SweepReport:
    """Move the clock to ``when`` and run one sweep there (as the scheduler's tick would)."""
    fake_clock(services).set(when)
    return await services.timers.sweep(when)


def _decode(row: Any) -> dict[str, Any]:
    return {**dict(row), "args": json.loads(row["args"]), "buttons": json.loads(row["buttons"])}


class Changes:
    """The outbox rows and cases of one contract added since the last look."""

    def __init__(self, services: Services, contract_id: int) -> None:
        self.services = services
        self.contract_id = contract_id
        self.last_outbox_id = 0
        self.last_case_id = 0
        self.rows: list[dict[str, Any]] = []

    @classmethod
    async def start(cls, services: Services, contract_id: int) -> Changes:
        changes = cls(services, contract_id)
        await changes.take()
        await changes.take_cases()
        return changes

    async def take(self) -> list[dict[str, Any]]:
        """Outbox rows of the contract (case cards included) written since the last call."""
        rows = await self.services.db.fetchall(
            "SELECT * FROM outbox WHERE contract_id = ? AND id > ? ORDER BY id",
            (self.contract_id, self.last_outbox_id),
        )
        decoded = [_decode(row) for row in rows]
        if decoded:
            self.last_outbox_id = decoded[-1]["id"]
        self.rows = decoded
        return decoded

    async def take_cases(self) -> list[dict[str, Any]]:
        rows = await self.services.db.fetchall(
            "SELECT * FROM cases WHERE contract_id = ? AND id > ? ORDER BY id", (self.contract_id, self.last_case_id)
        )
        found = [dict(row) for row in rows]
        if found:
            self.last_case_id = found[-1]["id"]
        return found


def counted(rows: list[dict[str, Any]]) -> dict[Key, int]:
    """Notifications by (message_key, recipient); "retire" rows (greying out buttons whose action
    is done) are not messages to anyone."""
    return dict(Counter((row["message_key"], row["recipient_id"]) for row in rows if row["target"] != "retire"))


async def step(services: Services, changes: Changes, when: datetime) -> dict[Key, int]:
    """Sweep at ``when``; what it added to the outbox for the contract, by (message_key, recipient)."""
    await sweep_at(services, when)
    return counted(await changes.take())


async def outbox_totals(services: Services, contract_id: int) -> dict[Key, int]:
    """Every outbox row of the contract so far, by (message_key, recipient)."""
    rows = await services.db.fetchall(
        "SELECT message_key, recipient_id, COUNT(*) AS n FROM outbox WHERE contract_id = ? AND target <> 'retire'"
        " GROUP BY message_key, recipient_id", (contract_id,))
    return {(row["message_key"], row["recipient_id"]): int(row["n"]) for row in rows}


async def cases_of(services: Services, contract_id: int) -> list[dict[str, Any]]:
    rows = await services.db.fetchall("SELECT * FROM cases WHERE contract_id = ? ORDER BY id", (contract_id,))
    return [dict(row) for row in rows]


async def fires_of(services: Services, contract_id: int) -> list[str]:
    rows = await services.db.fetchall("SELECT key FROM timer_fires WHERE contract_id = ? ORDER BY key",
                                      (contract_id,))
    return [str(row["key"]) for row in rows]


async def reload(services: Services, contract_id: int) -> Contract:
    contract = await services.contracts.get(contract_id)
    assert contract is not None
    return contract


async def worker_speaks(services: Services, contract: Contract, at: datetime, *,
                        thread_id: int = THREAD_ID) -> Contract:
    """Give the contract its thread (once) and post a worker message there at ``at``."""
    fake_clock(services).set(at)
    await services.contracts.set_thread(contract.id, thread_id)
    await services.contracts.record_thread_message(thread_id, contract.worker_id, at)
    return await reload(services, contract.id)


@asynccontextmanager
async def restarted(services: Services, *, close_old: bool = True) -> AsyncIterator[Services]:
    """A new bot process: a NEW Database object on the same file, migrated, and new Services.

    ``close_old=False`` abandons the old connection as a crashed process would (nothing more
    is written through it). Use only the yielded services afterwards.
    """
    if close_old:
        await services.db.close()
    database = Database(services.db.path)
    await database.connect()
    try:
        await database.migrate()
        yield Services.build(database, services.clock, services.settings)
    finally:
        await database.close()


class StatementLog:
    """Every SQL statement a connection runs while attached (sqlite3's trace callback)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, statement: str) -> None:
        self.statements.append(statement)


class RecordingConn:
    """Stands in for a connection to learn which SQL a repository function runs."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        self.calls.append((sql, tuple(params)))
        return self.conn.execute(sql, params)

    def execute_fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        self.calls.append((sql, tuple(params)))
        return self.conn.execute_fetchall(sql, params)
