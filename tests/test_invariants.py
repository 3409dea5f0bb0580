"""The ledger check itself must catch what it is there to catch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.db import Database
from bot.repositories.ledger import post_ledger
from tests.invariants import assert_ledger_invariants, ledger_violations


@pytest.fixture
async def ledger_db(tmp_path: Path) -> AsyncIterator[Database]:
    # not the ``db`` fixture: these tests break the ledger on purpose
    database = Database(tmp_path / "ledger.db")
    await database.connect()
    await database.migrate()
    yield database
    await database.close()


async def insert(db: Database, txn: int, entries: list[tuple[str, int]]) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO ledger_transactions (id, guild_id, kind, idempotency_key, created_at)"
            " VALUES (?, 1, 'test', ?, 'x')",
            (txn, f"k{txn}"),
        )
        for account, amount in entries:
            await conn.execute(
                "INSERT INTO ledger_entries (txn_id, guild_id, account, currency, amount) VALUES (?, 1, ?, 'JPY', ?)",
                (txn, account, amount),
            )


async def test_a_sound_ledger_passes(ledger_db: Database) -> None:
    async with ledger_db.transaction() as conn:
        await post_ledger(
            conn,
            guild_id=1,
            kind="deposit",
            key="d1",
            currency="JPY",
            entries=[("deposits:external", -1000), ("escrow:1", 1000)],
            now=FakeClock().now(),
        )
        await post_ledger(
            conn,
            guild_id=1,
            kind="release",
            key="r1",
            currency="JPY",
            entries=[("escrow:1", -1000), ("fees", 100), ("owed:2", 900)],
            now=FakeClock().now(),
        )
    await assert_ledger_invariants(ledger_db)


async def test_an_unbalanced_transaction_is_caught(ledger_db: Database) -> None:
    await insert(ledger_db, 1, [("deposits:external", -1000), ("escrow:1", 900)])
    problems = await ledger_violations(ledger_db)
    assert any("transaction 1" in p for p in problems)
    assert any("entries sum to -100" in p for p in problems)
    with pytest.raises(AssertionError, match="ledger invariants broken"):
        await assert_ledger_invariants(ledger_db)


@pytest.mark.parametrize("account", ["escrow:1", "owed:2", "refund:3"])
async def test_a_negative_held_balance_is_caught(ledger_db: Database, account: str) -> None:
    await insert(ledger_db, 1, [(account, -500), ("fees", 500)])
    assert await ledger_violations(ledger_db) == [f"guild 1 account {account} JPY is negative: -500"]


async def test_a_closed_database_is_checked_from_its_file(ledger_db: Database) -> None:
    await insert(ledger_db, 1, [("escrow:1", -1), ("fees", 1)])
    await ledger_db.close()
    with pytest.raises(AssertionError, match="escrow:1"):
        await assert_ledger_invariants(ledger_db)
