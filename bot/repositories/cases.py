"""SQL for moderator cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.db import Conn, fetch_one
from bot.models.entities import Case, from_row
from bot.models.timeutil import to_iso


async def open_case(
    conn: Conn,
    *,
    guild_id: int,
    contract_id: int | None,
    kind: str,
    reason_kind: str,
    opened_by: int | None,
    subject_id: int | None,
    reason: str | None,
    now: datetime,
) -> int | None:
    """Insert an open case; None if the same contract already has an open case of that reason."""
    cur = await conn.execute(
        "INSERT INTO cases (guild_id, contract_id, kind, reason_kind, opened_by, subject_id, reason, status,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?)"
        " ON CONFLICT (contract_id, reason_kind) WHERE status = 'open' AND contract_id IS NOT NULL AND kind <> 'report'"
        " DO NOTHING",
        (guild_id, contract_id, kind, reason_kind, opened_by, subject_id, reason, to_iso(now)),
    )
    return cur.lastrowid if cur.rowcount else None


async def open_report(conn: Conn, *, guild_id: int, contract_id: int | None, reporter_id: int, subject_id: int,
                      reason: str, now: datetime) -> int | None:
    """Insert an open report case; None if this reporter already has an open report on the contract."""
    cur = await conn.execute(
        "INSERT INTO cases (guild_id, contract_id, kind, reason_kind, opened_by, subject_id, reason, status,"
        " created_at) VALUES (?, ?, 'report', 'report', ?, ?, ?, 'open', ?)"
        " ON CONFLICT (contract_id, opened_by) WHERE status = 'open' AND contract_id IS NOT NULL AND kind = 'report'"
        " DO NOTHING",
        (guild_id, contract_id, reporter_id, subject_id, reason, to_iso(now)),
    )
    return cur.lastrowid if cur.rowcount else None


async def open_report_on(conn: Conn, contract_id: int, reporter_id: int) -> Case | None:
    """The reporter's open report on this contract, if any."""
    row = await fetch_one(
        conn,
        "SELECT * FROM cases WHERE contract_id = ? AND opened_by = ? AND kind = 'report' AND status = 'open'",
        (contract_id, reporter_id),
    )
    return from_row(Case, row) if row else None


async def get_case(conn: Conn, case_id: int) -> Case | None:
    row = await fetch_one(conn, "SELECT * FROM cases WHERE id = ?", (case_id,))
    return from_row(Case, row) if row else None


async def resolve(
    conn: Conn, case_id: int, *, resolution: str, moderator_id: int | None, note: str | None, now: datetime
) -> bool:
    cur = await conn.execute(
        "UPDATE cases SET status = 'resolved', resolution = ?, resolved_by = ?, resolution_note = ?,"
        " resolved_at = ? WHERE id = ? AND status = 'open'",
        (resolution, moderator_id, note, to_iso(now), case_id),
    )
    return cur.rowcount == 1


async def open_cases_for_contract(conn: Conn, contract_id: int) -> list[Case]:
    return [
        from_row(Case, r)
        for r in await conn.execute_fetchall(
            "SELECT * FROM cases WHERE contract_id = ? AND status = 'open'", (contract_id,)
        )
    ]


async def open_linked_reports(conn: Conn, contract_id: int) -> list[Case]:
    """Open reports that name this contract."""
    return [
        from_row(Case, r)
        for r in await conn.execute_fetchall(
            "SELECT * FROM cases WHERE linked_contract_id = ? AND status = 'open'", (contract_id,)
        )
    ]


async def list_cases(conn: Conn, guild_id: int, status: str | None, limit: int = 25) -> list[Case]:
    where = "guild_id = ?"
    params: list[Any] = [guild_id]
    if status:
        where += " AND status = ?"
        params.append(status)
    return [
        from_row(Case, r)
        for r in await conn.execute_fetchall(
            f"SELECT * FROM cases WHERE {where} ORDER BY id DESC LIMIT ?", (*params, limit)
        )
    ]


async def set_field(conn: Conn, case_id: int, **sets: Any) -> None:
    assignments = ", ".join(f"{name} = ?" for name in sets)
    await conn.execute(f"UPDATE cases SET {assignments} WHERE id = ?", (*sets.values(), case_id))


async def last_report_at(conn: Conn, guild_id: int, reporter_id: int) -> str | None:
    row = await fetch_one(
        conn,
        "SELECT MAX(created_at) FROM cases WHERE guild_id = ? AND opened_by = ? AND kind = 'report'",
        (guild_id, reporter_id),
    )
    return row[0] if row else None


async def last_dispute_at(conn: Conn, guild_id: int, opener_id: int) -> str | None:
    """When this user last opened a dispute (or a cancel request) in this guild."""
    row = await fetch_one(
        conn,
        "SELECT MAX(created_at) FROM cases WHERE guild_id = ? AND opened_by = ? AND kind = 'dispute'",
        (guild_id, opener_id),
    )
    return row[0] if row else None
