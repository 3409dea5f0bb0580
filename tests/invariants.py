"""Ledger invariants every test database must satisfy (docs/architecture.md, "Transactions").

Called after each test that used the ``db`` fixture and, by the stateful test, after
every step.
"""

from __future__ import annotations

from bot.db import Database


async def ledger_violations(db: Database) -> list[str]:
    """Every broken invariant, described in one line each (empty when the ledger is sound)."""
    problems: list[str] = []
    for row in await db.fetchall(
        "SELECT guild_id, currency, SUM(amount) AS total FROM ledger_entries"
        " GROUP BY guild_id, currency HAVING SUM(amount) <> 0"
    ):
        problems.append(f"guild {row['guild_id']} {row['currency']}: entries sum to {row['total']}, not 0")
    for row in await db.fetchall(
        "SELECT txn_id, currency, SUM(amount) AS total FROM ledger_entries"
        " GROUP BY txn_id, currency HAVING SUM(amount) <> 0"
    ):
        problems.append(f"ledger transaction {row['txn_id']} {row['currency']}: sums to {row['total']}")
    for row in await db.fetchall(
        "SELECT guild_id, account, currency, SUM(amount) AS balance FROM ledger_entries"
        " WHERE account LIKE 'escrow:%' OR account LIKE 'owed:%' OR account LIKE 'refund:%'"
        " GROUP BY guild_id, account, currency HAVING SUM(amount) < 0"
    ):
        problems.append(
            f"guild {row['guild_id']} account {row['account']} {row['currency']} is negative: {row['balance']}"
        )
    return problems


async def assert_ledger_invariants(db: Database) -> None:
    """Fail with every violation listed: the ledger sums to zero, no held balance is negative."""
    if db._conn is None:  # the test closed it (a restart): look at the file with a fresh connection
        fresh = Database(db.path)
        await fresh.connect()
        try:
            problems = await ledger_violations(fresh)
        finally:
            await fresh.close()
    else:
        problems = await ledger_violations(db)
    assert not problems, "ledger invariants broken:\n" + "\n".join(problems)
