"""SQL for the escrow ledger: balanced transactions posted once under an idempotency key,
balances, and the account names."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.db import Conn, fetch_one, write_later
from bot.models.timeutil import from_iso, to_iso


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


async def sums_by_currency(conn: Conn, guild_id: int, prefix: str) -> dict[str, int]:
    """Per currency, the sum over every account whose name starts with ``prefix`` (``escrow:``,
    ``owed:``, ``refund:``; ``fees`` for the fee account): nonzero sums only."""
    rows = await conn.execute_fetchall(
        "SELECT currency, SUM(amount) FROM ledger_entries WHERE guild_id = ? AND account LIKE ?"
        " GROUP BY currency HAVING SUM(amount) <> 0 ORDER BY currency",
        (guild_id, f"{prefix}%"),
    )
    return {str(row[0]): int(row[1]) for row in rows}


async def account_sums(conn: Conn, guild_id: int, accounts: Sequence[str]) -> dict[tuple[str, str], int]:
    """(account, currency) -> balance, for each of ``accounts`` in every currency it holds (nonzero)."""
    if not accounts:
        return {}
    rows = await conn.execute_fetchall(
        "SELECT account, currency, SUM(amount) FROM ledger_entries WHERE guild_id = ?"
        f" AND account IN ({', '.join('?' for _ in accounts)})"
        " GROUP BY account, currency HAVING SUM(amount) <> 0",
        (guild_id, *accounts),
    )
    return {(str(row[0]), str(row[1])): int(row[2]) for row in rows}


@dataclass(frozen=True, slots=True)
class EntryLine:
    """One ledger entry of an account, with the time of its transaction."""

    account: str
    currency: str
    amount: int
    at: datetime


async def unpaid_entries(conn: Conn, guild_id: int, user_id: int | None = None) -> list[EntryLine]:
    """Every entry of the owed-to-worker and refund-owed accounts (of ``user_id``, or of everyone)
    whose balance in that currency is not zero, oldest first: what the age of a debt is read from."""
    if user_id is None:
        which, params = "(e.account LIKE ? OR e.account LIKE ?)", ("owed:%", "refund:%")
    else:
        which, params = "e.account IN (?, ?)", (owed_account(user_id), refund_account(user_id))
    rows = await conn.execute_fetchall(
        "SELECT e.account, e.currency, e.amount, t.created_at FROM ledger_entries e"
        " JOIN ledger_transactions t ON t.id = e.txn_id"
        f" WHERE e.guild_id = ? AND {which} AND (e.account, e.currency) IN ("
        f"  SELECT e.account, e.currency FROM ledger_entries e WHERE e.guild_id = ? AND {which}"
        "  GROUP BY e.account, e.currency HAVING SUM(e.amount) <> 0)"
        " ORDER BY t.created_at, e.id",
        (guild_id, *params, guild_id, *params),
    )
    return [EntryLine(str(r[0]), str(r[1]), int(r[2]), from_iso(str(r[3]))) for r in rows]


@dataclass(frozen=True, slots=True)
class PayoutLine:
    """A payout recorded to a user: how much, in which currency, its reference and when."""

    txn_id: int
    currency: str
    amount: int
    reference: str | None
    at: datetime


async def payouts_to(conn: Conn, guild_id: int, user_id: int) -> list[PayoutLine]:
    """The payouts recorded to ``user_id`` (from their owed and refund accounts), latest first."""
    rows = await conn.execute_fetchall(
        "SELECT t.id, e.currency, -SUM(e.amount), t.memo, t.created_at FROM ledger_transactions t"
        " JOIN ledger_entries e ON e.txn_id = t.id"
        " WHERE t.guild_id = ? AND t.kind = 'payout' AND e.account IN (?, ?)"
        " GROUP BY t.id, e.currency, t.memo, t.created_at ORDER BY t.created_at DESC, t.id DESC",
        (guild_id, owed_account(user_id), refund_account(user_id)),
    )
    return [PayoutLine(int(r[0]), str(r[1]), int(r[2]), r[3], from_iso(str(r[4]))) for r in rows]


async def escrow_of_party(conn: Conn, guild_id: int, user_id: int, *, as_worker: bool) -> dict[str, int]:
    """Per currency, the escrow held on the contracts where ``user_id`` is the worker (or the
    client): money held for them, or money they paid in."""
    party = "worker_id" if as_worker else "client_id"
    rows = await conn.execute_fetchall(
        "SELECT e.currency, SUM(e.amount) FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.txn_id"
        f" JOIN contracts c ON c.id = t.contract_id AND c.{party} = ?"
        " WHERE e.guild_id = ? AND e.account = 'escrow:' || c.id"
        " GROUP BY e.currency HAVING SUM(e.amount) <> 0 ORDER BY e.currency",
        (user_id, guild_id),
    )
    return {str(row[0]): int(row[1]) for row in rows}


async def guilds_with_unpaid(conn: Conn) -> list[int]:
    """The guilds where some owed-to-worker or refund-owed balance is not paid out."""
    rows = await conn.execute_fetchall(
        "SELECT DISTINCT guild_id FROM (SELECT guild_id FROM ledger_entries WHERE account LIKE ? OR account LIKE ?"
        " GROUP BY guild_id, account, currency HAVING SUM(amount) <> 0) AS unpaid ORDER BY guild_id",
        ("owed:%", "refund:%"),
    )
    return [int(row[0]) for row in rows]


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
