"""SQL for suspensions: a moderator stops a user posting and applying until a time."""

from __future__ import annotations

from datetime import datetime

from bot.db import Conn, fetch_one
from bot.models.entities import Suspension, from_row
from bot.models.timeutil import to_iso


async def active(conn: Conn, guild_id: int, user_id: int, now: datetime) -> Suspension | None:
    """The user's suspension in force at ``now`` (the one ending last), if any."""
    row = await fetch_one(
        conn,
        "SELECT * FROM suspensions WHERE guild_id = ? AND user_id = ? AND lifted_at IS NULL AND ends_at > ?"
        " ORDER BY ends_at DESC LIMIT 1",
        (guild_id, user_id, to_iso(now)),
    )
    return from_row(Suspension, row) if row else None


async def insert(conn: Conn, *, guild_id: int, user_id: int, suspended_by: int, reason: str, now: datetime,
                 ends_at: datetime) -> Suspension:
    row = await fetch_one(
        conn,
        "INSERT INTO suspensions (guild_id, user_id, suspended_by, reason, created_at, ends_at)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
        (guild_id, user_id, suspended_by, reason, to_iso(now), to_iso(ends_at)),
    )
    assert row is not None
    return from_row(Suspension, row)


async def lift(conn: Conn, guild_id: int, user_id: int, *, moderator_id: int, now: datetime) -> int:
    """End every suspension of the user still in force; how many there were."""
    cur = await conn.execute(
        "UPDATE suspensions SET lifted_by = ?, lifted_at = ?"
        " WHERE guild_id = ? AND user_id = ? AND lifted_at IS NULL AND ends_at > ?",
        (moderator_id, to_iso(now), guild_id, user_id, to_iso(now)),
    )
    return cur.rowcount
