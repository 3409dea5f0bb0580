"""SQL for the escrow ledger: balanced transactions posted once under an idempotency key,
balances, and the account names."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.db import Conn, fetch_one, write_later
from bot.models.timeutil import to_iso


class UnbalancedEntries(ValueError):
    """A ledger transaction whose entries do not sum to zero: a programming error."""


async def post_ledger(
    conn: Conn,
    *,
    guild_id: int,
    kind: str,
    key: str,
    currency: str,
    entries: Iterable[tuple[str, int]],
    now: datetime,
    contract_id: int | None = None,
    actor_id: int | None = None,
    memo: str | None = None,
    once_checked: bool = False,
) -> bool:
    """Post a balanced set of entries once. A second post under the same key is a no-op (False).

    ``once_checked``: the caller read, in this transaction, the state that makes this the
    first post (a deposit still declared, a contract not yet settled): the transaction and
    its entries are queued with the transaction's next statement, the key checked there (a
    second post rolls everything back), and True is returned without a round trip."""
    lines = [(account, amount) for account, amount in entries if amount != 0]
    if sum(amount for _, amount in lines) != 0:
        raise UnbalancedEntries(f"{kind} {key}: {lines}")
    if once_checked:
        await write_later(
            conn,
            "INSERT INTO ledger_transactions (guild_id, contract_id, kind, idempotency_key, actor_id, memo,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING",
            (guild_id, contract_id, kind, key, actor_id, memo, to_iso(now)),
            expect_one=True,
        )
        for account, amount in lines:
            await write_later(
                conn,
                "INSERT INTO ledger_entries (txn_id, guild_id, account, currency, amount)"
                " VALUES ((SELECT id FROM ledger_transactions WHERE idempotency_key = ?), ?, ?, ?, ?)",
                (key, guild_id, account, currency, amount),
            )
        return True
    cur = await conn.execute(
        "INSERT INTO ledger_transactions (guild_id, contract_id, kind, idempotency_key, actor_id, memo,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING",
        (guild_id, contract_id, kind, key, actor_id, memo, to_iso(now)),
    )
    if not cur.rowcount:
        return False
    txn_id = cur.lastrowid
    # Queued with the transaction's next statement (a balance read after this sees them) and
    # committed with the transaction header or not at all.
    for account, amount in lines:
        await write_later(
            conn,
            "INSERT INTO ledger_entries (txn_id, guild_id, account, currency, amount) VALUES (?, ?, ?, ?, ?)",
            (txn_id, guild_id, account, currency, amount),
        )
    return True


async def balance(conn: Conn, guild_id: int, account: str, currency: str) -> int:
    row = await fetch_one(
        conn,
        "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE guild_id = ? AND account = ? AND currency = ?",
        (guild_id, account, currency),
    )
    assert row is not None
    return int(row[0])


async def balance_of_accounts(conn: Conn, guild_id: int, prefix: str, currency: str) -> int:
    """The sum over every account whose name starts with ``prefix`` (``escrow:``, ``owed:``)."""
    row = await fetch_one(
        conn,
        "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE guild_id = ? AND currency = ?"
        " AND account LIKE ?",
        (guild_id, currency, f"{prefix}%"),
    )
    return int(row[0]) if row else 0


async def count_unpaid(conn: Conn, guild_id: int) -> int:
    """How many owed-to-worker and refund-owed accounts (in any currency) are not paid out."""
    row = await fetch_one(
        conn,
        "SELECT COUNT(*) FROM (SELECT account FROM ledger_entries WHERE guild_id = ?"
        " AND (account LIKE ? OR account LIKE ?) GROUP BY account, currency HAVING SUM(amount) <> 0) AS unpaid",
        (guild_id, "owed:%", "refund:%"),  # owed_account, refund_account below
    )
    return int(row[0]) if row else 0


def escrow_account(contract_id: int) -> str:
    return f"escrow:{contract_id}"


def owed_account(user_id: int) -> str:
    return f"owed:{user_id}"


def refund_account(user_id: int) -> str:
    return f"refund:{user_id}"


FEES_ACCOUNT = "fees"
DEPOSITS_EXTERNAL = "deposits:external"
PAYOUTS_EXTERNAL = "payouts:external"


async def totals_by_currency(conn: Conn, prefix: str) -> dict[str, int]:
    """Per currency, the sum over every guild's accounts whose name starts with ``prefix``
    (``escrow:``, ``owed:``, ``refund:``): what the metrics report as held or owed."""
    rows = await conn.execute_fetchall(
        "SELECT currency, COALESCE(SUM(amount), 0) FROM ledger_entries WHERE account LIKE ? GROUP BY currency",
        (f"{prefix}%",),
    )
    return {str(row[0]): int(row[1]) for row in rows}
