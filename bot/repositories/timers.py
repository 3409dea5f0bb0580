"""SQL of the reminder and escalation sweep: which contracts are due, their next look, and
the record of each reminder or final action fired (``timer_fires``, one row per unique key)."""

from __future__ import annotations

from datetime import datetime

from bot.db import Conn, fetch_one, write_later
from bot.models.entities import Contract, from_row
from bot.models.timeutil import from_iso


async def due_for_timers(conn: Conn, now: str, limit: int) -> list[int]:
    return [
        int(r[0])
        for r in await conn.execute_fetchall(
            "SELECT id FROM contracts WHERE timer_due_at IS NOT NULL AND timer_due_at <= ?"
            " ORDER BY timer_due_at LIMIT ?",
            (now, limit),
        )
    ]


async def set_timer(conn: Conn, contract_id: int, due_at: str | None, seen: str) -> None:
    """Set the next look, unless the contract changed since it was read (then it stays "now").
    Queued with the transaction's next statement (its COMMIT): nothing reads the row count."""
    await write_later(
        conn,
        "UPDATE contracts SET timer_due_at = ? WHERE id = ? AND (timer_due_at IS NULL OR timer_due_at <= ?)",
        (due_at, contract_id, seen),
    )


async def contract_for_sweep(conn: Conn, contract_id: int) -> tuple[Contract, bool] | None:
    """The contract and whether it has a declared deposit waiting for a moderator, in one query."""
    row = await fetch_one(
        conn,
        "SELECT c.*, EXISTS (SELECT 1 FROM deposits d WHERE d.contract_id = c.id AND d.status = 'declared')"
        " AS has_declared FROM contracts c WHERE c.id = ?",
        (contract_id,),
    )
    return (from_row(Contract, row), bool(row["has_declared"])) if row else None


async def has_fired(conn: Conn, key: str) -> bool:
    return await fetch_one(conn, "SELECT 1 FROM timer_fires WHERE key = ?", (key,)) is not None


async def fired_at(conn: Conn, key: str) -> datetime | None:
    """When the reminder or final action recorded under ``key`` fired (None: not yet)."""
    row = await fetch_one(conn, "SELECT fired_at FROM timer_fires WHERE key = ?", (key,))
    return from_iso(row[0]) if row else None


async def record_fire(conn: Conn, *, key: str, guild_id: int, contract_id: int, kind: str, now: str) -> bool:
    cur = await conn.execute(
        "INSERT INTO timer_fires (key, guild_id, contract_id, kind, fired_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (key) DO NOTHING",
        (key, guild_id, contract_id, kind, now),
    )
    return cur.rowcount == 1
